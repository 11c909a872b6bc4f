"""How each supported ingress controller strips a path prefix: the seed's rewrite-target, per controller."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Route:
    prefix: str  # e.g. "/httpd"
    service: str
    port: int


@dataclass(frozen=True)
class RoutedPath:
    path: str
    path_type: str
    service: str
    port: int


def prefix_rewrites(controller: str, routes: tuple[Route, ...]) -> tuple[dict[str, str], list[RoutedPath]]:
    """Annotations and paths that send `<prefix>/rest` to `/rest` on the route's service."""
    if controller == "f5-nginx":
        # F5's controller rewrites per service: location /httpd { proxy_pass http://httpd-service/; }
        rewrites = ";".join(f"serviceName={route.service} rewrite=/" for route in routes)
        return {"nginx.org/rewrites": rewrites}, [RoutedPath(r.prefix, "Prefix", r.service, r.port) for r in routes]
    if controller == "ingress-nginx":
        # The community controller rewrites with a regex capture of what follows the prefix.
        annotations = {"nginx.ingress.kubernetes.io/use-regex": "true", "nginx.ingress.kubernetes.io/rewrite-target": "/$2"}
        paths = [RoutedPath(f"{r.prefix}(/|$)(.*)", "ImplementationSpecific", r.service, r.port) for r in routes]
        return annotations, paths
    raise ValueError(f"unsupported ingress controller {controller!r}")
