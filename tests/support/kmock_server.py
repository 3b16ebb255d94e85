#!/usr/bin/env python3
"""Kubernetes API stand-in for hush's controller tests (NOT a real API server).

Runs kmock's KubernetesEmulator on 127.0.0.1:<port> with a thin shim that makes it
usable from kube-rs:
  * stamps uid, creationTimestamp, resourceVersion and generation (kube-runtime's
    watcher drops events without a resourceVersion);
  * bumps metadata.generation when a write changes .spec, as the API server does;
  * server-side apply to a missing object creates it (upsert);
  * error bodies carry canonical Status reasons (NotFound, AlreadyExists, ...).
Known gaps (see docs): no managedFields or field conflicts, no label selectors, no
garbage collection of owned objects, no admission or schema validation, every write
emits MODIFIED even when nothing changed.

Test-only additions (see the "Stand-in controls" section below):
  * fault injection: POST /_standin/faults makes the next N requests matching a
    method, path regex and query substring fail with a status (e.g. 409 on an
    update, 500 on a list); a 410 on a watch request is sent as the API server sends
    an expired watch (HTTP 200, one ERROR event with a 410 Status); DELETE
    /_standin/faults clears them;
  * a request log: GET /_standin/log (time, method, path, query, status of every API
    request), DELETE /_standin/log clears it;
  * the service proxy (/api/v1/namespaces/NS/services/[SCHEME:]NAME[:PORT]/proxy/PATH),
    forwarded to the URL in the Service's `standin.hush.dev/proxy-upstream`
    annotation (a stand-in convention: there are no pods or endpoints here).

Usage: kmock_server.py PORT   (prints "kmock listening on URL" when ready)
"""
import asyncio
import copy
import datetime
import itertools
import json
import re
import sys
import time
import uuid

import aiohttp.web
import kmock
from kmock._internal import k8s

REASONS = {404: "NotFound", 409: "AlreadyExists", 400: "BadRequest", 422: "Invalid", 500: "InternalError"}
RESOURCES = {
    "v1/secrets": ("Secret", True),
    "v1/namespaces": ("Namespace", False),
    "v1/services": ("Service", True),
    "v1/events": ("Event", True),
    "events.k8s.io/v1/events": ("Event", True),
    "apps/v1/deployments": ("Deployment", True),
    "apps/v1/statefulsets": ("StatefulSet", True),
    "apps/v1/daemonsets": ("DaemonSet", True),
    "hush.dev/v1alpha1/secretsyncs": ("SecretSync", True),
    "hush.dev/v1alpha1/secretstores": ("SecretStore", True),
    "hush.dev/v1alpha1/clustersecretstores": ("ClusterSecretStore", False),
    "bitnami.com/v1alpha1/sealedsecrets": ("SealedSecret", True),
}
_rv = itertools.count(1)
# Requests served, by action and resource (GET /_standin/stats): lets benchmarks see
# what the controller asks of the API server.
STATS = {}


def gitops_resources():
    """hush's GitOps resources (issue 6): SopsSecret and SecretRepository."""
    return {
        "hush.dev/v1alpha1/sopssecrets": ("SopsSecret", True),
        "hush.dev/v1alpha1/secretrepositories": ("SecretRepository", True),
    }


RESOURCES.update(gitops_resources())


def _now():
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _merge(base, patch):
    """JSON merge patch (RFC 7386), used only to predict whether .spec changes."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(base) if isinstance(base, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = _merge(out.get(key), value)
    return out


def _count(request):
    action = request.action.name.lower() if request.action is not None else str(request.method)
    what = request.resource.plural if request.resource is not None else "-"
    if request.subresource:
        what += "/" + request.subresource
    key = f"{action} {what}"
    STATS[key] = STATS.get(key, 0) + 1


# kmock parses /api/v1/namespaces/NAME as a namespace prefix, not as an object, so
# Namespace objects (create, get, list, merge patch, delete) are served here.
NAMESPACES = {}


async def _namespace_request(raw):
    parts = raw.path.strip("/").split("/")
    if parts[:3] != ["api", "v1", "namespaces"] or len(parts) > 4:
        return None
    body = await raw.json() if raw.can_read_body else None
    if len(parts) == 3:
        if raw.method == "POST" and isinstance(body, dict):
            md = body.setdefault("metadata", {})
            name = md.get("name")
            if name in NAMESPACES:
                return _status(409)
            md.setdefault("uid", str(uuid.uuid4()))
            md.setdefault("creationTimestamp", _now())
            md["resourceVersion"] = str(next(_rv))
            body.setdefault("apiVersion", "v1")
            body.setdefault("kind", "Namespace")
            NAMESPACES[name] = body
            return aiohttp.web.json_response(body, status=201)
        if raw.method == "GET" and "watch" not in raw.query:
            return aiohttp.web.json_response({"apiVersion": "v1", "kind": "NamespaceList",
                                              "metadata": {"resourceVersion": str(next(_rv))},
                                              "items": list(NAMESPACES.values())})
        return None
    name = parts[3]
    if name not in NAMESPACES:
        return _status(404)
    if raw.method == "GET":
        return aiohttp.web.json_response(NAMESPACES[name])
    if raw.method == "PATCH" and isinstance(body, dict):
        NAMESPACES[name] = _merge(NAMESPACES[name], body)
        NAMESPACES[name]["metadata"]["resourceVersion"] = str(next(_rv))
        return aiohttp.web.json_response(NAMESPACES[name])
    if raw.method == "DELETE":
        return aiohttp.web.json_response(NAMESPACES.pop(name))
    return None


def _status(code):
    body = {"apiVersion": "v1", "kind": "Status", "metadata": {}, "code": code,
            "status": "Failure", "reason": REASONS.get(code, "Unknown"), "message": REASONS.get(code, "")}
    return aiohttp.web.json_response(body, status=code)


class Emulator(kmock.KubernetesEmulator):
    async def __call__(self, raw_request):
        # Request counters first: the benchmarks poll them and must not fill the request log.
        if raw_request.path == "/_standin/stats":
            return aiohttp.web.json_response(STATS)
        return await _controlled(self, raw_request, self._serve)

    async def _serve(self, raw_request):
        namespaced = await _namespace_request(raw_request)
        if namespaced is not None:
            key = f"{raw_request.method.lower()} namespaces"
            STATS[key] = STATS.get(key, 0) + 1
            return namespaced
        return await super().__call__(raw_request)

    async def _handle(self, request):
        _count(request)
        if request.resource is not None and isinstance(request.data, (dict, list)):
            rv = str(next(_rv))
            key = (request.resource, request.namespace, request.name)
            if request.action == kmock.action.CREATE and isinstance(request.data, dict):
                md = request.data.setdefault("metadata", {})
                if request.namespace:
                    md.setdefault("namespace", request.namespace)
                md.setdefault("uid", str(uuid.uuid4()))
                md.setdefault("creationTimestamp", _now())
                md["resourceVersion"] = rv
                md.setdefault("generation", 1)
            elif request.action == kmock.action.UPDATE:
                if isinstance(request.data, dict):
                    md = request.data.setdefault("metadata", {})
                    md["resourceVersion"] = rv
                    existing = self._objects[key] if key in self._objects else None
                    if existing is not None and not existing.deleted and "spec" in request.data:
                        old = existing.raw
                        if _merge(old.get("spec"), request.data["spec"]) != old.get("spec"):
                            md["generation"] = int(old.get("metadata", {}).get("generation", 1)) + 1
                else:
                    request.data.append({"op": "add", "path": "/metadata/resourceVersion", "value": rv})
            # Server-side apply on a missing object creates it, as the API server does.
            if (
                request.action == kmock.action.UPDATE
                and isinstance(request.data, dict)
                and "apply-patch" in request.headers.get("Content-Type", "")
                and (key not in self._objects or self._objects[key].deleted)
            ):
                md = request.data.setdefault("metadata", {})
                md.setdefault("name", request.name)
                if request.namespace:
                    md.setdefault("namespace", request.namespace)
                md.setdefault("uid", str(uuid.uuid4()))
                md.setdefault("creationTimestamp", _now())
                md["resourceVersion"] = rv
                md.setdefault("generation", 1)
                async with self._lock:
                    if key in self._objects:
                        self._objects[key].create(request.data)
                    else:
                        self._objects[key] = request.data
                    raw = self._objects[key].raw
                    await self._buses[request.resource].put({"type": "ADDED", "object": raw})
                return aiohttp.web.json_response(raw, status=201)
        fast = await self._fast_path(request)
        if fast is not None:
            return fast
        return await super()._handle(request)

    async def _fast_path(self, request):
        """Serve single-object GET and merge/apply PATCH directly. kmock's generic
        reaction filtering costs ~30 ms per request, which would make a 500-object
        benchmark measure the stand-in rather than the controller."""
        if request.resource is None:
            return None
        if request.action == kmock.action.CREATE and isinstance(request.data, dict):
            return await self._fast_create(request)
        if request.name is None:
            return None
        key = (request.resource, request.namespace, request.name)
        if request.action == kmock.action.FETCH:
            async with self._lock:
                obj = self._objects[key] if key in self._objects else None
                if obj is None or obj.deleted:
                    return await self._render_error(k8s.KubernetesObjectNotFoundError())
                return aiohttp.web.json_response(obj.raw)
        if request.action == kmock.action.UPDATE and isinstance(request.data, dict):
            async with self._lock:
                obj = self._objects[key] if key in self._objects else None
                if obj is None or obj.deleted:
                    return await self._render_error(k8s.KubernetesObjectNotFoundError())
                if obj.get("metadata", {}).get("deletionTimestamp"):
                    return None  # finalizer handling stays with kmock
                obj.patch(request.data)
                raw = obj.raw
                await self._buses[request.resource].put({"type": "MODIFIED", "object": raw})
                return aiohttp.web.json_response(raw)
        return None

    async def _fast_create(self, request):
        """Create a named object directly (metadata was stamped in _handle); kmock's
        generic path costs ~0.2 s per create once a few thousand requests were served."""
        md = request.data.get("metadata", {})
        name = md.get("name")
        if not name:
            return None  # generateName and the like stay with kmock
        key = (request.resource, request.namespace or md.get("namespace"), name)
        async with self._lock:
            if key in self._objects and not self._objects[key].deleted:
                return await self._render_error(k8s.KubernetesObjectConflictError())
            if key in self._objects:
                self._objects[key].create(request.data)
            else:
                self._objects[key] = request.data
            raw = self._objects[key].last.raw
            await self._buses[request.resource].put({"type": "ADDED", "object": raw})
        return aiohttp.web.json_response(raw, status=201)

    # Direct key lookups: kmock scans every stored object per request, which makes a
    # 500-object benchmark measure the stand-in instead of the controller.
    def _lookup(self, request):
        key = (request.resource, request.namespace, request.name)
        obj = self._objects[key] if key in self._objects else None
        if obj is None or obj.deleted:
            raise k8s.KubernetesObjectNotFoundError()
        return obj

    async def _serve_fetch(self, request):
        if request.name is None:
            return await super()._serve_fetch(request)
        async with self._lock:
            return self._lookup(request).raw

    async def _serve_update(self, request):
        if request.name is None:
            return await super()._serve_update(request)
        async with self._lock:
            key = (request.resource, request.namespace, request.name)
            return self._objects[key].last.raw

    async def _render_error(self, exc):
        code = exc.status if isinstance(exc, k8s.KubernetesError) else 500
        body = {
            "apiVersion": "v1",
            "kind": "Status",
            "metadata": {},
            "code": code,
            "status": "Failure",
            "reason": REASONS.get(code, "Unknown"),
            "message": repr(exc),
        }
        return aiohttp.web.json_response(body, status=code)


# ---------------------------------------------------------------------------
# Stand-in controls: fault injection, request log, service proxy. Kept apart from
# the emulator shim above; everything here runs before kmock sees a request.

ADMIN_PREFIX = "/_standin/"
PROXY_PATH = re.compile(r"^/api/v1/namespaces/([^/]+)/services/([^/]+)/proxy(/.*)?$")
UPSTREAM_ANNOTATION = "standin.hush.dev/proxy-upstream"
_faults = []  # dicts: method, path (regex), query (substring), status, remaining
_log = []  # dicts: t, method, path, query, status


def _take_fault(method, path, query):
    """The status of the first armed fault matching this request (and disarm one use)."""
    for fault in _faults:
        if fault["remaining"] <= 0:
            continue
        if fault.get("method") and fault["method"].upper() != method:
            continue
        if fault.get("path") and not re.search(fault["path"], path):
            continue
        if fault.get("query") and fault["query"] not in query:
            continue
        fault["remaining"] -= 1
        return int(fault["status"])
    return None


def _status_body(code, message):
    reasons = dict(REASONS)
    reasons.update({409: "Conflict", 410: "Expired", 429: "TooManyRequests", 503: "ServiceUnavailable"})
    body = {"apiVersion": "v1", "kind": "Status", "metadata": {}, "code": code,
            "status": "Failure", "reason": reasons.get(code, "Unknown"), "message": message}
    return aiohttp.web.json_response(body, status=code)


def _expired_watch(path):
    """An expired watch as the API server reports it: HTTP 200 and one ERROR event
    carrying a 410 Status ("too old resource version"), then the end of the stream."""
    status = {"apiVersion": "v1", "kind": "Status", "metadata": {}, "status": "Failure",
              "code": 410, "reason": "Expired",
              "message": f"too old resource version (injected by the stand-in on {path})"}
    line = json.dumps({"type": "ERROR", "object": status}) + "\n"
    return aiohttp.web.Response(text=line, status=200, content_type="application/json")


async def _admin(raw_request):
    what = raw_request.path[len(ADMIN_PREFIX):]
    if what == "faults" and raw_request.method == "POST":
        fault = await raw_request.json()
        fault["remaining"] = int(fault.get("count", 1))
        _faults.append(fault)
        return aiohttp.web.json_response(fault)
    if what == "faults" and raw_request.method == "DELETE":
        _faults.clear()
        return aiohttp.web.json_response({})
    if what == "log" and raw_request.method == "GET":
        return aiohttp.web.json_response(_log)
    if what == "log" and raw_request.method == "DELETE":
        _log.clear()
        return aiohttp.web.json_response({})
    return aiohttp.web.json_response({"error": "unknown stand-in control"}, status=404)


async def _proxy(emulator, match, raw_request):
    """Forward a service-proxy request to the Service's upstream annotation, as the
    API server forwards it to a pod behind the Service."""
    namespace, target, rest = match.group(1), match.group(2), match.group(3) or "/"
    parts = target.split(":")
    if len(parts) == 3:
        _scheme, name, port = parts
    elif len(parts) == 2:
        name, port = parts
    else:
        name, port = parts[0], ""
    base = f"http://127.0.0.1:{raw_request.url.port}"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/api/v1/namespaces/{namespace}/services/{name}") as got:
            if got.status != 200:
                return _status_body(404, f'services "{name}" not found')
            service = await got.json()
        ports = service.get("spec", {}).get("ports", [])
        if port and not any(port in (p.get("name"), str(p.get("port"))) for p in ports):
            return _status_body(503, f'no endpoints available for service "{name}:{port}"')
        upstream = service.get("metadata", {}).get("annotations", {}).get(UPSTREAM_ANNOTATION)
        if not upstream:
            return _status_body(503, f'no endpoints available for service "{name}"')
        body = await raw_request.read()
        headers = {"X-Forwarded-For": raw_request.remote or "127.0.0.1"}
        if raw_request.content_type:
            headers["Content-Type"] = raw_request.content_type
        url = upstream.rstrip("/") + rest
        try:
            async with session.request(raw_request.method, url, data=body, headers=headers) as resp:
                payload = await resp.read()
                return aiohttp.web.Response(body=payload, status=resp.status,
                                            content_type=resp.content_type)
        except aiohttp.ClientError as exc:
            return _status_body(503, f"error trying to reach service: {exc}")


async def _controlled(emulator, raw_request, serve):
    if raw_request.path.startswith(ADMIN_PREFIX):
        return await _admin(raw_request)
    method, path, query = raw_request.method, raw_request.path, raw_request.query_string
    entry = {"t": time.time(), "method": method, "path": path, "query": query, "status": None}
    _log.append(entry)
    status = _take_fault(method, path, query)
    if status == 410 and "watch=" in query:
        response = _expired_watch(path)
    elif status is not None:
        response = _status_body(status, f"injected by the stand-in ({method} {path})")
    elif (match := PROXY_PATH.match(path)) is not None:
        response = await _proxy(emulator, match, raw_request)
    else:
        response = await serve(raw_request)
    entry["status"] = response.status
    return response


async def main(port):
    async with Emulator() as emu:
        for resource, (kind, namespaced) in RESOURCES.items():
            emu.resources[resource] = kmock.ResourceInfo(kind=kind, namespaced=namespaced)
        server = kmock.Server(emu)
        server._port = port
        async with server:
            print(f"kmock listening on {server.url}", flush=True)
            await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
