//! Reaching the sealing controller the way kubeseal does: a kubeconfig
//! (`--kubeconfig`, else `$KUBECONFIG`, else `~/.kube/config`; `--context`), then
//! the API server's service proxy. The port is the first port name of the
//! controller's Service, so requests go to
//! `/api/v1/namespaces/{ns}/services/http:{name}:{port}/proxy/v1/...`
//! (client-go's `ProxyGet("http", name, port, path)`, as kubeseal's `openCertCluster`).

use anyhow::{anyhow, bail, Context as _, Result};
use kube::{
    config::{KubeConfigOptions, Kubeconfig},
    Client, Config,
};

use super::{ClusterArgs, HttpFailure};

/// Run one async cluster operation from synchronous CLI code.
pub fn block_on<T>(future: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?
        .block_on(future)
}

/// A client for the cluster the kubeconfig names.
pub async fn connect(args: &ClusterArgs) -> Result<Client> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let options = KubeConfigOptions {
        context: args.context.clone(),
        ..KubeConfigOptions::default()
    };
    let config = match &args.kubeconfig {
        Some(path) => {
            let kubeconfig = Kubeconfig::read_from(path)
                .with_context(|| format!("reading kubeconfig {}", path.display()))?;
            Config::from_custom_kubeconfig(kubeconfig, &options).await
        }
        None => Config::from_kubeconfig(&options).await,
    }
    .context("loading the kubeconfig ($KUBECONFIG or ~/.kube/config)")?;
    Client::try_from(config).context("connecting to Kubernetes")
}

/// The sealing controller behind the API server's service proxy.
pub struct ControllerProxy {
    client: Client,
    base: String,
}

impl ControllerProxy {
    /// Find the controller's Service and its first port name, as kubeseal does.
    pub async fn resolve(client: Client, args: &ClusterArgs) -> Result<Self> {
        let namespace = &args.controller_namespace;
        let name = &args.controller_name;
        let service_path = format!("/api/v1/namespaces/{namespace}/services/{name}");
        let text = get_text(&client, &service_path).await.map_err(|f| {
            anyhow!(
                "cannot get the sealed secrets Service {namespace}/{name}: {} ({}); use \
                 --controller-name and --controller-namespace to name the controller",
                f.message,
                f.code
            )
        })?;
        let service: serde_json::Value =
            serde_json::from_str(&text).context("reading the controller's Service")?;
        let Some(port) = service["spec"]["ports"][0]["name"].as_str() else {
            bail!("Service {namespace}/{name} has no named port");
        };
        Ok(Self {
            client,
            base: format!("/api/v1/namespaces/{namespace}/services/http:{name}:{port}/proxy"),
        })
    }

    /// `GET {path}` on the controller (e.g. `/v1/cert.pem`).
    pub async fn get(&self, path: &str) -> Result<String, HttpFailure> {
        get_text(&self.client, &format!("{}{path}", self.base)).await
    }

    /// `POST {path}` with a JSON or YAML body.
    pub async fn post(&self, path: &str, body: &str) -> Result<String, HttpFailure> {
        let request = http::Request::post(format!("{}{path}", self.base))
            .header("Content-Type", "application/json")
            .body(body.as_bytes().to_vec())
            .map_err(|e| HttpFailure {
                code: 0,
                message: e.to_string(),
            })?;
        send(&self.client, request).await
    }
}

/// Connect with the kubeconfig and find the controller.
pub async fn controller(args: &ClusterArgs) -> Result<ControllerProxy> {
    let client = connect(args).await?;
    ControllerProxy::resolve(client, args).await
}

async fn get_text(client: &Client, path: &str) -> Result<String, HttpFailure> {
    let request = http::Request::get(path)
        .header("Accept", "application/x-pem-file, application/json, */*")
        .body(Vec::new())
        .map_err(|e| HttpFailure {
            code: 0,
            message: e.to_string(),
        })?;
    send(client, request).await
}

async fn send(client: &Client, request: http::Request<Vec<u8>>) -> Result<String, HttpFailure> {
    client
        .request_text(request)
        .await
        .map_err(|error| match error {
            kube::Error::Api(status) => HttpFailure {
                code: status.code,
                message: status.message.trim().to_string(),
            },
            other => HttpFailure {
                code: 0,
                message: other.to_string(),
            },
        })
}

/// The controller through the service proxy, for synchronous code that calls it
/// from several worker threads at once (`hush reseal --all`): one kubeconfig load
/// and one connection pool for the whole run.
pub struct BlockingController {
    runtime: tokio::runtime::Runtime,
    proxy: ControllerProxy,
}

impl BlockingController {
    pub fn connect(args: &ClusterArgs) -> Result<Self> {
        // Multi-threaded, so the client's background tasks run while callers block.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        let proxy = runtime.block_on(controller(args))?;
        Ok(Self { runtime, proxy })
    }

    /// `POST {path}` on the controller; may be called from many threads.
    pub fn post(&self, path: &str, body: &str) -> Result<String, HttpFailure> {
        self.runtime.block_on(self.proxy.post(path, body))
    }
}
