"""Starts os-ken's OpenFlow controller inside this process on native threads (no eventlet
monkey-patching, so grpc.aio keeps working). os-ken's app manager is process-wide: start
it once."""

from __future__ import annotations

import threading
from typing import Any

from provisioning.openflow import OpenFlowDriver

_started: dict[str, Any] = {}
_lock = threading.Lock()


def start_controller(driver: OpenFlowDriver, port: int = 6653, host: str = "0.0.0.0") -> None:
    """Listen for OpenFlow switches on host:port and hand their events to `driver`."""
    with _lock:
        if _started:
            if _started["port"] != port or _started["driver"] is not driver:
                raise RuntimeError("the OpenFlow controller is already running in this process")
            return
        from os_ken import cfg
        from os_ken.base import app_manager

        from controller.switches import SwitchControl

        SwitchControl.driver = driver
        import os_ken.topology.switches  # noqa: F401  (registers --observe-links)

        args = ["--ofp-tcp-listen-port", str(port), "--ofp-listen-host", host, "--observe-links"]
        cfg.CONF(args=args, project="os_ken")
        manager = app_manager.AppManager.get_instance()
        failed: list[BaseException] = []

        def boot() -> None:
            try:
                # LLDP link discovery (os-ken's topology app) cross-checks the inventory.
                manager.load_apps(["os_ken.controller.ofp_handler", "os_ken.topology.switches", "controller.switches"])
                manager.instantiate_apps(**manager.create_contexts())
            except BaseException as err:
                failed.append(err)

        # os-ken's threads cannot be stopped, and a thread is a daemon when the thread that
        # starts it is: booting from a daemon thread keeps them from holding the process open.
        booter = threading.Thread(target=boot, name="os-ken-boot", daemon=True)
        booter.start()
        booter.join(30)
        if failed:
            raise failed[0]
        _started.update(port=port, driver=driver, manager=manager)
