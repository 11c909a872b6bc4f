from __future__ import annotations

import re

import pytest

from components.shared.ingress_routing import Route, prefix_rewrites

ROUTES = (Route("/httpd", "httpd-service", 8080), Route("/tomcat", "tomcat-service", 8080))


def test_f5_rewrites_each_service_to_root() -> None:
    annotations, paths = prefix_rewrites("f5-nginx", ROUTES)
    assert annotations == {"nginx.org/rewrites": "serviceName=httpd-service rewrite=/;serviceName=tomcat-service rewrite=/"}
    assert {(p.path, p.path_type) for p in paths} == {("/httpd", "Prefix"), ("/tomcat", "Prefix")}


@pytest.mark.parametrize(("request_path", "rewritten"), [("/httpd", "/"), ("/httpd/", "/"), ("/httpd/a/b", "/a/b")])
def test_community_regex_strips_the_prefix(request_path: str, rewritten: str) -> None:
    annotations, paths = prefix_rewrites("ingress-nginx", ROUTES)
    target = annotations["nginx.ingress.kubernetes.io/rewrite-target"]
    match = re.match(paths[0].path, request_path)
    assert match is not None
    assert target.replace("$2", match.group(2)) == rewritten
    assert re.match(paths[0].path + "$", "/httpdx") is None


def test_unknown_controller_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported ingress controller"):
        prefix_rewrites("traefik", ROUTES)
