# Sourced by the AWS KMS benchmarks: starts moto_server and benches/kms/counting_proxy.py
# on free loopback ports, points the AWS SDK at the proxy, and creates one KMS key.
# Needs: $here (repository root), $venv, $py, $work, and a `pids` array the caller's
# EXIT trap kills. Sets: AWS_* variables, HOME (under $work), and $arn.
free_port() { "$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
moto_port="$(free_port)"; proxy_port="$(free_port)"
"$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >/dev/null 2>&1 & pids+=($!)
"$py" "$here/benches/kms/counting_proxy.py" "$proxy_port" "$moto_port" & pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$moto_port/moto-api/" >/dev/null && break; sleep 0.1; done
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$proxy_port/__counts" >/dev/null && break; sleep 0.1; done

export AWS_ENDPOINT_URL="http://127.0.0.1:$proxy_port" AWS_ACCESS_KEY_ID=testing \
  AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
export HOME="$work/home"; mkdir -p "$HOME"
arn="$(curl -sf -X POST "$AWS_ENDPOINT_URL/" -d '{}' \
  -H 'X-Amz-Target: TrentService.CreateKey' -H 'Content-Type: application/x-amz-json-1.1' \
  -H 'Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/kms/aws4_request, SignedHeaders=host, Signature=x' \
  | "$py" -c 'import json,sys; print(json.load(sys.stdin)["KeyMetadata"]["Arn"])')"
