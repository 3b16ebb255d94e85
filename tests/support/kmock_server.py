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

Usage: kmock_server.py PORT   (prints "kmock listening on URL" when ready)
"""
import asyncio
import copy
import datetime
import itertools
import sys
import uuid

import aiohttp.web
import kmock
from kmock._internal import k8s

REASONS = {404: "NotFound", 409: "AlreadyExists", 400: "BadRequest", 422: "Invalid", 500: "InternalError"}
RESOURCES = {
    "v1/secrets": ("Secret", True),
    "v1/namespaces": ("Namespace", False),
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


class Emulator(kmock.KubernetesEmulator):
    async def _handle(self, request):
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
        if request.resource is None or request.name is None:
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
