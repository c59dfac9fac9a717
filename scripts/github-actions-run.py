#!/usr/bin/env python3
"""Runs one job of a GitHub Actions workflow the way the runner does, on a machine with no runner.

    python3 scripts/github-actions-run.py WORKFLOW JOB [--image REF=LOCAL]... [--name-prefix P]

What the runner does for a job on `ubuntu-latest`, and what this does instead:
  - `services:`: the runner pulls each image and starts it with `docker create` + `docker start` on a
    bridge network of its own, publishing `ports:`. Here nothing is pulled (`--image REF=LOCAL` names a
    locally built image for a registry reference) and each service runs with `--network host`, so a
    port mapping must keep the same number (`8787:8787`): the steps reach it at the same localhost URL.
  - then, for a service whose image has a HEALTHCHECK, the runner inspects `.State.Health.Status` and,
    while it is `starting`, retries up to 5 times with an exponential backoff (2 s doubling, at most
    32 s); anything but `healthy` then fails the job. The same here.
  - `run:` steps: `bash --noprofile --norc -eo pipefail` on a file holding the command, in the step's
    `working-directory` (or the job's / workflow's `defaults.run`), with the workflow's, the job's and
    the step's `env:`. The same here, from the repository's root as the runner's workspace.
  - `uses: actions/checkout@...`: this working tree is the checkout, so it is skipped; any other action
    cannot be run here and is an error.
  - at the end the runner removes the service containers (`docker rm --force`), printing their logs; here
    the logs are printed only when a step failed.
Needs PyYAML (python3 -c 'import yaml'; pip install pyyaml).
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import yaml


def docker(*args, check=True):
    return subprocess.run(["docker", *args], check=check, capture_output=True, text=True).stdout.strip()


def host_network_args(name, service):
    args = []
    for mapping in service.get("ports", []):
        parts = str(mapping).split("/")[0].split(":")
        if len(parts) != 2 or parts[0] != parts[1]:
            sys.exit(f"service {name}: port mapping {mapping!r} cannot be kept with --network host "
                     "(use the same number on both sides)")
    for key, value in service.get("env", {}).items():
        args += ["-e", f"{key}={value}"]
    for volume in service.get("volumes", []):
        args += ["-v", volume]
    if "options" in service:
        args += service["options"].split()
    return args


def wait_healthy(container, name):
    """The runner's ContainerHealthCheck: retries while `starting`, 5 times at most, backing off."""
    fmt = "{{if .Config.Healthcheck}}{{print .State.Health.Status}}{{end}}"
    status = docker("inspect", "--format", fmt, container)
    retry = 0
    while status == "starting" and retry < 5:
        time.sleep(min(2 * 2**retry, 32))
        status = docker("inspect", "--format", fmt, container)
        retry += 1
    if status not in ("", "healthy"):
        raise RuntimeError(f"Failed to initialize, {name} service is {status}.")
    return status or "no healthcheck"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("workflow")
    parser.add_argument("job")
    parser.add_argument("--image", action="append", default=[], help="REF=LOCAL: run LOCAL for image REF")
    parser.add_argument("--name-prefix", default=f"gha-{os.getpid()}")
    opts = parser.parse_args()
    images = dict(pair.split("=", 1) for pair in opts.image)
    with open(opts.workflow) as f:
        workflow = yaml.safe_load(f)
    job = workflow["jobs"][opts.job]
    workspace = os.getcwd()
    started = []
    failed = False
    try:
        for name, service in (job.get("services") or {}).items():
            image = images.get(service["image"], service["image"])
            container = f"{opts.name_prefix}-{name}"
            t0 = time.monotonic()
            docker("create", "--name", container, "--network", "host",
                   *host_network_args(name, service), image)
            started.append(container)
            docker("start", container)
            status = wait_healthy(container, name)
            print(f"service {name} ({image}): {status} after {(time.monotonic() - t0) * 1000:.0f} ms", flush=True)
        defaults = {**workflow.get("defaults", {}).get("run", {}), **job.get("defaults", {}).get("run", {})}
        env_base = {**os.environ, **(workflow.get("env") or {}), **(job.get("env") or {}), "CI": "true",
                    "GITHUB_ACTIONS": "true", "GITHUB_WORKSPACE": workspace}
        for index, step in enumerate(job["steps"], 1):
            if "uses" in step:
                if not step["uses"].startswith("actions/checkout@"):
                    raise RuntimeError(f"step {index}: cannot run action {step['uses']} here")
                print(f"step {index}: uses {step['uses']}: skipped (this working tree is the checkout)")
                continue
            cwd = os.path.join(workspace, step.get("working-directory", defaults.get("working-directory", ".")))
            env = {**env_base, **{k: str(v) for k, v in (step.get("env") or {}).items()}}
            print(f"step {index}: run: {step['run'].strip()}", flush=True)
            with tempfile.NamedTemporaryFile("w", suffix=".sh") as script:
                script.write(step["run"])
                script.flush()
                t0 = time.monotonic()
                done = subprocess.run(["bash", "--noprofile", "--norc", "-eo", "pipefail", script.name],
                                      cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            ms = (time.monotonic() - t0) * 1000
            rc = done.returncode
            for line in done.stdout.splitlines():
                print(f"  | {line}")
            print(f"  -> exit {rc} ({ms:.0f} ms)", flush=True)
            if rc != 0:
                raise RuntimeError(f"step {index} failed with exit code {rc}")
    except (RuntimeError, subprocess.CalledProcessError) as err:
        failed = True
        print(f"job {opts.job} failed: {err}", file=sys.stderr)
        if isinstance(err, subprocess.CalledProcessError):
            print(err.stderr, file=sys.stderr)
        for container in started:
            print(f"--- docker logs {container}", file=sys.stderr)
            subprocess.run(["docker", "logs", container], stdout=sys.stderr, stderr=sys.stderr)
    finally:
        for container in started:
            docker("rm", "--force", container, check=False)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
