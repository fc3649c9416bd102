#!/usr/bin/env bash
# Checks docker-compose.yml: `docker compose config -q` when a Docker engine
# answers, otherwise a structural check with python3 + PyYAML (services have an
# image or a build, named volumes are declared, depends_on names services that
# exist and are healthy when required, profiles are lists, ports are loopback).
# First, with or without Docker: everything `cargo build` reads outside src/ is
# in the image's build context — each `[patch]` path of Cargo.toml, build.rs,
# and the files src/ embeds (include_bytes!/include_str!/sqlx::migrate!) are
# copied by a COPY of the Dockerfile and not excluded by .dockerignore.
# Usage: scripts/check-compose.sh [FILE]   (default: docker-compose.yml)
set -euo pipefail
cd "$(dirname "$0")/.."
file="${1:-docker-compose.yml}"
[ -f "$file" ] || { echo "check-compose: $file not found" >&2; exit 1; }
command -v python3 >/dev/null 2>&1 || { echo "check-compose: python3 is needed" >&2; exit 1; }

python3 - Dockerfile <<'PY'
import fnmatch, os, re, sys

dockerfile = sys.argv[1]
errors = []
try:
    import tomllib
    with open("Cargo.toml", "rb") as f:
        cargo = tomllib.load(f)
except ImportError:  # Python before 3.11: the [patch.*] tables by hand.
    cargo, table = {"patch": {}}, None
    for line in open("Cargo.toml", encoding="utf-8"):
        head = re.match(r"\s*\[patch\.([^\]]+)\]", line)
        if head:
            table = cargo["patch"].setdefault(head.group(1).strip(), {})
        elif line.lstrip().startswith("["):
            table = None
        elif table is not None:
            entry = re.match(r'\s*([\w-]+)\s*=.*\bpath\s*=\s*"([^"]+)"', line)
            if entry:
                table[entry.group(1)] = {"path": entry.group(2)}

needed = []  # (path, why)
for registry, crates in (cargo.get("patch") or {}).items():
    for crate, spec in (crates or {}).items():
        if isinstance(spec, dict) and "path" in spec:
            needed.append((spec["path"], f"[patch.{registry}] {crate}"))
build = cargo.get("package", {}).get("build", "build.rs" if os.path.exists("build.rs") else None)
if build:
    needed.append((build, "the build script"))
# Files the code embeds at compile time, outside its tests (a #[cfg(test)]
# module runs to the end of its file in this code base).
embed = re.compile(r'(include_bytes|include_str)!\(\s*"([^"]+)"\s*\)|sqlx::migrate!\(\s*"([^"]+)"\s*\)')
for root, _, names in os.walk("src"):
    for name in names:
        if not name.endswith(".rs"):
            continue
        path = os.path.join(root, name)
        text = open(path, encoding="utf-8").read()
        text = text.split("#[cfg(test)]", 1)[0]
        for m in embed.finditer(text):
            if m.group(2):
                target = os.path.normpath(os.path.join(os.path.dirname(path), m.group(2)))
            else:
                target = os.path.normpath(m.group(3))
            needed.append((target, f"embedded by {path}"))

# Sources of COPY/ADD (not --from=…) in the Dockerfile.
sources = []
for line in open(dockerfile, encoding="utf-8").read().replace("\\\n", " ").splitlines():
    words = line.split()
    if not words or words[0].upper() not in ("COPY", "ADD"):
        continue
    args = [w for w in words[1:] if not w.startswith("--")]
    if any(w.startswith("--from") for w in words[1:]) or len(args) < 2:
        continue
    sources.extend(os.path.normpath(a) for a in args[:-1])

ignore = []
if os.path.exists(".dockerignore"):
    for raw in open(".dockerignore", encoding="utf-8"):
        raw = raw.strip()
        if raw and not raw.startswith("#"):
            ignore.append(raw)

def ignored(path):
    verdict = False
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in ignore:
        negate = pattern.startswith("!")
        pat = os.path.normpath(pattern.lstrip("!").strip("/"))
        if any(fnmatch.fnmatchcase(p, pat) for p in prefixes):
            verdict = not negate
    return verdict

def copied(path):
    return any(src == "." or path == src or path.startswith(src.rstrip("/") + "/") for src in sources)

for path, why in needed:
    path = os.path.normpath(path)
    if not os.path.exists(path):
        errors.append(f"{path} ({why}) does not exist")
    elif not copied(path):
        errors.append(f"{path} ({why}) is not copied by any COPY of {dockerfile}: docker build would fail")
    elif ignored(path):
        errors.append(f"{path} ({why}) is excluded from the build context by .dockerignore")
if errors:
    for e in errors:
        print(f"check-compose: {dockerfile}: {e}", file=sys.stderr)
    sys.exit(1)
print(f"check-compose: {dockerfile}: {len(needed)} paths cargo reads are in the build context: ok")
PY

if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 \
   && docker compose version >/dev/null 2>&1; then
  echo "check-compose: docker compose config -q -f $file"
  docker compose -f "$file" config -q
  echo "check-compose: ok"
  exit 0
fi

echo "check-compose: no Docker engine answers; structural check with python3"
if ! python3 -c 'import yaml' 2>/dev/null; then
  python3 -m pip install --quiet --user pyyaml \
    || python3 -m pip install --quiet --user --break-system-packages pyyaml
fi

python3 - "$file" <<'PY'
import os, re, sys
import yaml

path = sys.argv[1]
errors = []
def err(msg):
    errors.append(msg)

with open(path, encoding="utf-8") as f:
    doc = yaml.safe_load(f)
if not isinstance(doc, dict):
    sys.exit(f"{path}: not a mapping at the top level")

allowed_top = {"name", "services", "volumes", "networks", "configs", "secrets", "include", "version"}
for key in doc:
    if key not in allowed_top and not str(key).startswith("x-"):
        err(f"unknown top-level key {key!r}")

services = doc.get("services")
if not isinstance(services, dict) or not services:
    sys.exit(f"{path}: no services")
volumes = doc.get("volumes") or {}
if not isinstance(volumes, dict):
    err("top-level volumes must be a mapping")
    volumes = {}

def env_files(svc):
    files = svc.get("env_file") or []
    if isinstance(files, (str, dict)):
        files = [files]
    for item in files:
        if isinstance(item, str):
            yield item, True
        elif isinstance(item, dict) and "path" in item:
            yield item["path"], item.get("required", True)
        else:
            err(f"bad env_file entry {item!r}")

for name, svc in services.items():
    where = f"service {name}"
    if not isinstance(svc, dict):
        err(f"{where}: not a mapping"); continue
    if "image" not in svc and "build" not in svc:
        err(f"{where}: needs image or build")
    build = svc.get("build")
    if isinstance(build, str) or isinstance(build, dict):
        ctx = build if isinstance(build, str) else build.get("context", ".")
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "Dockerfile")
        if not os.path.isfile(os.path.join(os.path.dirname(path) or ".", ctx, dockerfile)):
            err(f"{where}: build context {ctx!r} has no {dockerfile}")
    for cmd_key in ("command", "entrypoint"):
        cmd = svc.get(cmd_key)
        if cmd is not None and not isinstance(cmd, (str, list)):
            err(f"{where}: {cmd_key} must be a string or a list")
    profiles = svc.get("profiles")
    if profiles is not None and not (isinstance(profiles, list) and all(isinstance(p, str) for p in profiles)):
        err(f"{where}: profiles must be a list of strings")
    for vol in svc.get("volumes") or []:
        source = vol.split(":", 1)[0] if isinstance(vol, str) else vol.get("source", "")
        kind = "bind" if isinstance(vol, str) and (source.startswith((".", "/", "~", "$"))) else (
            vol.get("type", "volume") if isinstance(vol, dict) else "volume")
        if kind == "volume" and source and source not in volumes:
            err(f"{where}: volume {source!r} is not declared under top-level volumes")
        if kind == "bind" and isinstance(vol, str) and source.startswith("."):
            if not os.path.exists(os.path.join(os.path.dirname(path) or ".", source)):
                err(f"{where}: bind-mounted {source!r} does not exist")
    for port in svc.get("ports") or []:
        text = str(port if not isinstance(port, dict) else port.get("host_ip", ""))
        if not text.startswith("127.0.0.1:") and text != "127.0.0.1":
            err(f"{where}: port {port!r} is not bound to 127.0.0.1")
    deps = svc.get("depends_on") or {}
    dep_items = deps.items() if isinstance(deps, dict) else ((d, {}) for d in deps)
    for dep, cond in dep_items:
        if dep not in services:
            err(f"{where}: depends_on unknown service {dep!r}")
            continue
        if isinstance(cond, dict) and cond.get("condition") == "service_healthy" \
                and "healthcheck" not in services[dep]:
            err(f"{where}: waits for {dep} to be healthy but {dep} has no healthcheck")
        if services[dep].get("profiles") and not svc.get("profiles"):
            err(f"{where}: depends on {dep}, which only runs under a profile")
    for env_path, required in env_files(svc):
        if required and not os.path.exists(os.path.join(os.path.dirname(path) or ".", env_path)):
            err(f"{where}: env_file {env_path!r} is required but missing (use required: false)")
    hc = svc.get("healthcheck")
    if hc is not None and not (isinstance(hc, dict) and "test" in hc):
        err(f"{where}: healthcheck needs a test")

# Every ${VAR} needs a default or an .env.example entry, so `config` works without .env.
example = os.path.join(os.path.dirname(path) or ".", ".env.example")
known = set()
if os.path.exists(example):
    with open(example, encoding="utf-8") as f:
        known = {l.split("=", 1)[0].strip() for l in f if "=" in l and not l.lstrip().startswith("#")}
text = open(path, encoding="utf-8").read()
for var, default in re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(:?-[^}]*)?\}", text):
    if not default and var not in known:
        err(f"${{{var}}} has no default and is not in .env.example")

if errors:
    for e in errors:
        print(f"check-compose: {path}: {e}", file=sys.stderr)
    sys.exit(1)
print(f"check-compose: {path}: {len(services)} services, {len(volumes)} volumes: ok")
PY
