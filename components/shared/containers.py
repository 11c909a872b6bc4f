"""The seed's two demo applications, configured to run non-root on a read-only root filesystem."""

from __future__ import annotations

import pulumi_kubernetes as k8s

from components.shared.pod_security import container_security_context, http_probe, resources, scratch_volumes
from components.shared.versions import HTTPD_IMAGE, TOMCAT_IMAGE

HTTPD_PORT = 8080
# UIDs of 10000 and more cannot collide with a user of the node (kubelet, system accounts); both images'
# files are world-readable, and what the apps write goes to emptyDirs owned through fsGroup.
HTTPD_USER = 10082
TOMCAT_PORT = 8080
TOMCAT_USER = 10001  # the image has no user of its own; any non-root UID can read it
TOMCAT_HOME = "/usr/local/tomcat"

# httpd binds port 80 as root by default; a copy of its config in /tmp listens on 8080 instead.
_HTTPD_START = (
    f"sed 's/^Listen 80$/Listen {HTTPD_PORT}/' /usr/local/apache2/conf/httpd.conf > /tmp/httpd.conf"
    " && exec httpd -DFOREGROUND -f /tmp/httpd.conf"
)


def httpd_container(
    name: str, extra_mounts: list[k8s.core.v1.VolumeMountArgs] | None = None
) -> tuple[k8s.core.v1.ContainerArgs, list[k8s.core.v1.VolumeArgs]]:
    """httpd serving its default page on 8080, with the emptyDirs it writes to (pid file, config copy)."""
    volumes, mounts = scratch_volumes({"tmp": "/tmp", "httpd-run": "/usr/local/apache2/logs"})
    container = k8s.core.v1.ContainerArgs(
        name=name,
        image=HTTPD_IMAGE,
        command=["sh", "-c", _HTTPD_START],
        ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=HTTPD_PORT)],
        readiness_probe=http_probe("/", HTTPD_PORT, initial_delay=2, period=5),
        liveness_probe=http_probe("/", HTTPD_PORT, initial_delay=10),
        resources=resources("50m", "32Mi", "250m", "128Mi"),
        security_context=container_security_context(),
        volume_mounts=mounts + (extra_mounts or []),
    )
    return container, volumes


def tomcat_containers() -> tuple[k8s.core.v1.ContainerArgs, k8s.core.v1.ContainerArgs, list[k8s.core.v1.VolumeArgs]]:
    """Tomcat and an init container that installs the image's welcome page as the ROOT web app."""
    volumes, mounts = scratch_volumes(
        {
            "tmp": "/tmp",
            "tomcat-logs": f"{TOMCAT_HOME}/logs",
            "tomcat-temp": f"{TOMCAT_HOME}/temp",
            "tomcat-work": f"{TOMCAT_HOME}/work",
            "tomcat-catalina": f"{TOMCAT_HOME}/conf/Catalina",
            "tomcat-root-webapp": f"{TOMCAT_HOME}/webapps/ROOT",
        }
    )
    root_webapp = mounts[-1]
    install_root = k8s.core.v1.ContainerArgs(
        name="install-root-webapp",
        image=TOMCAT_IMAGE,
        # The official image keeps its default apps in webapps.dist; serve its welcome page at /.
        command=["sh", "-c", f"cp -R {TOMCAT_HOME}/webapps.dist/ROOT/. {root_webapp.mount_path}/"],
        resources=resources("50m", "32Mi", "200m", "64Mi"),
        security_context=container_security_context(),
        volume_mounts=[root_webapp],
    )
    tomcat = k8s.core.v1.ContainerArgs(
        name="tomcat",
        image=TOMCAT_IMAGE,
        ports=[k8s.core.v1.ContainerPortArgs(name="http", container_port=TOMCAT_PORT)],
        env=[k8s.core.v1.EnvVarArgs(name="JAVA_OPTS", value="-XX:MaxRAMPercentage=75 -XX:-UsePerfData")],
        readiness_probe=http_probe("/", TOMCAT_PORT, initial_delay=10, period=5),
        liveness_probe=http_probe("/", TOMCAT_PORT, initial_delay=60, period=15),
        resources=resources("250m", "384Mi", "1", "512Mi"),
        security_context=container_security_context(),
        volume_mounts=mounts,
    )
    return install_root, tomcat, volumes
