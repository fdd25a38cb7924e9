#!/usr/bin/env bash
# Checks the deployment files without a cluster, a helm CLI or a container
# engine (see docs/deployment.md, "What deploy-check.sh verifies"):
#
#   1. helm lint (strict, Kubernetes 1.31) with each values file in helm/ocomms/ci/
#   2. values.schema.json accepts them; renders them; bad settings fail the render
#   3. every rendered manifest validates against the Kubernetes 1.31 schemas
#      (kubernetes-validate --strict -k 1.31), plus the chart's own rules
#      (probes, pod security, graceful termination, secrets only by reference,
#      services' URLs name real Services, variables documented in README.md)
#   4. yamllint (helm/.yamllint) on the values, k8s/, tilt/ and every render
#   5. k8s/ocomms.yaml equals a fresh render of the defaults (+ k8s/values.yaml);
#      `kubectl kustomize k8s/` builds when kubectl is installed
#   6. tilt/Tiltfile parses and runs with stubbed Tilt builtins (starlark-pyo3)
#   7. Dockerfile static check (stages, COPY sources, binaries, non-root USER)
#
# usage: bash scripts/deploy-check.sh [--update-k8s]
#   --update-k8s   rewrite k8s/ocomms.yaml from the chart, then check
#
# Tools come from PyPI, pinned, in a venv under
# ${XDG_CACHE_HOME:-$HOME/.cache}/ocomms/deploy-venv (made once, reused).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${XDG_CACHE_HOME:-$HOME/.cache}/ocomms/deploy-venv"
PINS="helm-python-sdk==0.2.2 kubernetes-validate==1.37.0 yamllint==1.38.0 starlark-pyo3==2026.1.3 PyYAML==6.0.4"

log() { echo "deploy-check: $*" >&2; }

if [ "$(cat "$VENV/.pins" 2>/dev/null)" != "$PINS" ]; then
  log "installing $PINS into $VENV"
  command -v python3 >/dev/null 2>&1 || { log "error: python3 is required (apt-get install -y python3 python3-venv)"; exit 1; }
  if ! python3 -m venv --clear "$VENV" >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
      log "python3-venv missing: installing it"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null ||
        { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null; }
      python3 -m venv --clear "$VENV"
    else
      log "error: python3 -m venv failed (install python3-venv)"; exit 1
    fi
  fi
  # shellcheck disable=SC2086
  "$VENV/bin/pip" install -q --disable-pip-version-check $PINS || { log "error: pip install failed"; exit 1; }
  echo "$PINS" >"$VENV/.pins"
fi

exec "$VENV/bin/python" - "$ROOT" "$VENV" "$@" <<'PY'
import glob, json, os, re, subprocess, sys, tempfile, time

import yaml
import helm_python as helm

ROOT, VENV, ARGS = sys.argv[1], sys.argv[2], sys.argv[3:]
CHART = os.path.join(ROOT, "helm/ocomms")
K8S_OUT = os.path.join(ROOT, "k8s/ocomms.yaml")
KUBE = "1.31"
SERVICES = ["auth", "messaging", "presence", "files", "scheduler", "notify"]
failures = []
started = time.monotonic()


def fail(what, why):
    failures.append(f"{what}: {why}")
    print(f"  FAIL {what}: {why}", file=sys.stderr)


def step(name):
    print(f"deploy-check: {name}", file=sys.stderr)


def rel(p):
    return os.path.relpath(p, ROOT)


def render(values, name="ocomms"):
    """The chart's manifests as one YAML stream (NOTES.txt and tests apart)."""
    with helm.Chart.load(CHART) as chart:
        chart.validate_schema(values)
        out = chart.render(values, name=name, namespace="ocomms", is_install=True)
    docs, notes = [], ""
    for path in sorted(out):
        if path.endswith("NOTES.txt"):
            notes = out[path]
            continue
        for doc in re.split(r"(?m)^---\s*$", out[path]):
            body = doc.strip()
            if not body or all(l.lstrip().startswith("#") for l in body.splitlines()):
                continue
            docs.append((path.split("/", 1)[1], body))
    return docs, notes


def stream(docs, header=""):
    return header + "".join(f"---\n# Source: {src}\n{body}\n" for src, body in docs)


# --- 1-2. lint, schema, render -------------------------------------------------
values_files = sorted(glob.glob(os.path.join(CHART, "ci/*-values.yaml")))
if len(values_files) < 3:
    fail("helm/ocomms/ci", "expected at least three *-values.yaml files")
tmp = tempfile.mkdtemp(prefix="deploy-check-")
import atexit, shutil
atexit.register(shutil.rmtree, tmp, True)
rendered = {}
step(f"helm lint + render ({len(values_files)} values files)")
for vf in values_files:
    values = yaml.safe_load(open(vf)) or {}
    report = helm.lint(CHART, values, strict=True, kube_version=f"v{KUBE}.0")
    for m in report.get("messages", []):
        if m.get("severity", 0) >= 2:
            fail(f"helm lint {rel(vf)}", f"{m.get('path')}: {m.get('error')}")
    for e in report.get("errors", []):
        fail(f"helm lint {rel(vf)}", e)
    try:
        docs, notes = render(values)
    except helm.HelmError as e:
        fail(f"render {rel(vf)}", str(e).strip().splitlines()[-1])
        continue
    if "OComms" not in notes:
        fail(f"render {rel(vf)}", "NOTES.txt did not render")
    rendered[vf] = docs
    with open(os.path.join(tmp, os.path.basename(vf)), "w") as f:
        f.write(stream(docs))

# Settings that must be refused, with the message that explains them.
refused = [
    ({}, "PostgreSQL is required"),
    ({"secrets": {"databaseUrl": "postgres://x@db/o"}, "gateway": {"replicaCount": 2}}, "needs Redis"),
    ({"secrets": {"existingSecret": "s"}, "redis": {"enabled": True}, "services": {"files": {"replicaCount": 2}}}, "needs RabbitMQ"),
    ({"secrets": {"existingSecret": "s"}, "redis": {"enabled": True}, "amqp": {"enabled": True},
      "services": {"files": {"replicaCount": 2}}}, "shared storage"),
    ({"secrets": {"existingSecret": "s"}, "redis": {"enabled": True}}, None),  # redis without multi-replica is fine
    ({"redis": {"enabeld": True}}, "additional properties"),
    ({"secrets": {"existingSecret": "s", "twoFactorKey": "short"}}, "twoFactorKey"),
]
for values, expected in refused:
    try:
        render(values)
        if expected:
            fail("render refuses bad settings", f"{json.dumps(values)} rendered; expected an error with {expected!r}")
    except helm.HelmError as e:
        if not expected or expected not in str(e):
            fail("render refuses bad settings", f"{json.dumps(values)}: {str(e).strip().splitlines()[-1]}")

# --- 5. k8s/ equals the chart ---------------------------------------------------
step("k8s/ocomms.yaml against a fresh render")
k8s_values = yaml.safe_load(open(os.path.join(ROOT, "k8s/values.yaml"))) or {}
k8s_docs, _ = render(k8s_values)
k8s_docs = [(s, b) for s, b in k8s_docs if not s.startswith("templates/tests/")]
header = ("# GENERATED from helm/ocomms (chart defaults + k8s/values.yaml) by\n"
          "#   bash scripts/deploy-check.sh --update-k8s\n"
          "# Do not edit: change the chart, then regenerate. CI checks they match.\n")
fresh = stream(k8s_docs, header)
if render(k8s_values)[0] != render(k8s_values)[0]:
    fail("k8s render", "two renders of the defaults differ (something random is rendered)")
if "--update-k8s" in ARGS:
    with open(K8S_OUT, "w") as f:
        f.write(fresh)
    print(f"deploy-check: wrote {rel(K8S_OUT)}", file=sys.stderr)
current = open(K8S_OUT).read() if os.path.exists(K8S_OUT) else ""
if current != fresh:
    import difflib
    diff = list(difflib.unified_diff(current.splitlines(), fresh.splitlines(), "k8s/ocomms.yaml", "fresh render", lineterm="", n=1))
    print("\n".join(diff[:40]), file=sys.stderr)
    fail("k8s/ocomms.yaml", "differs from the chart's render: run bash scripts/deploy-check.sh --update-k8s")
rendered[K8S_OUT] = k8s_docs
if subprocess.run(["bash", "-c", "command -v kubectl"], capture_output=True).returncode == 0:
    r = subprocess.run(["kubectl", "kustomize", os.path.join(ROOT, "k8s")], capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        fail("kubectl kustomize k8s/", r.stderr.strip()[-500:])
    else:
        with open(os.path.join(tmp, "kustomized.yaml"), "w") as f:
            f.write(r.stdout)
else:
    print("deploy-check: kubectl not installed: `kubectl kustomize k8s/` skipped", file=sys.stderr)

# --- 3. Kubernetes 1.31 schemas (strict) ----------------------------------------
step(f"kubernetes-validate --strict -k {KUBE}")
to_validate = sorted(glob.glob(os.path.join(tmp, "*.yaml"))) + [K8S_OUT, os.path.join(ROOT, "tilt/dev-infra.yaml")]
r = subprocess.run([os.path.join(VENV, "bin/kubernetes-validate"), "--strict", "--quiet", "-k", KUBE] + to_validate,
                   capture_output=True, text=True)
out = (r.stdout + r.stderr).strip()
if r.returncode != 0 or re.search(r"(?im)^(error|couldn't|.*failed validation)", out):
    fail("kubernetes-validate", "\n".join(l for l in out.splitlines() if "INFO" not in l)[:3000] or f"exit {r.returncode}")

# --- 3b. the chart's own rules, on every render ---------------------------------
step("chart rules (probes, security, termination, secrets, service URLs, README)")
readme = open(os.path.join(ROOT, "README.md")).read()
section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
documented = set()
for line in section.splitlines():
    if line.startswith("| `"):
        documented.update(re.findall(r"`([A-Z0-9_<>]+)`", line.split("|")[1]))
def is_documented(var):
    if var.startswith("OTEL_"):  # OpenTelemetry's own variables (brief item 10)
        return True
    return var in documented or any(d.replace("<SERVICE>", s.upper()) == var for d in documented for s in SERVICES)
SECRET_VARS = re.compile(r"(DATABASE_URL|REDIS_URL|AMQP_URL|SERVICE_TOKEN|TWO_FACTOR_KEY|S3_ACCESS_KEY_ID|S3_SECRET_ACCESS_KEY|SMTP_PASS|VAPID_PRIVATE_KEY)$")
CRED_IN_URL = re.compile(r"://[^/@\s]*:[^/@\s]+@")
for src, docs in rendered.items():
    where = rel(src)
    objs = [(s, yaml.safe_load(b)) for s, b in docs]
    services = {o["metadata"]["name"]: o for _, o in objs if o and o.get("kind") == "Service"}
    configmaps = [o for _, o in objs if o and o.get("kind") == "ConfigMap"]
    deployments = [o for _, o in objs if o and o.get("kind") == "Deployment"]
    jobs = [o for _, o in objs if o and o.get("kind") == "Job"]
    names = {o["metadata"]["name"] for o in deployments}
    comps = {o["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/component") for o in deployments}
    if comps != {"gateway", *SERVICES}:
        fail(where, f"expected a Deployment for the gateway and each service, got {sorted(comps)}")
    for cm in configmaps:
        for k, v in (cm.get("data") or {}).items():
            if SECRET_VARS.search(k):
                fail(where, f"ConfigMap holds the credential {k}: it belongs in a Secret")
            if CRED_IN_URL.search(str(v)):
                fail(where, f"ConfigMap {k} carries a password")
            if not is_documented(k):
                fail(where, f"ConfigMap sets {k}, which README.md's Configuration table does not document")
            m = re.fullmatch(r"([A-Z]+)_GRPC_URL", k)
            if m:
                u = re.fullmatch(r"http://([a-z0-9-]+):(\d+)", v)
                svc = services.get(u.group(1)) if u else None
                if not svc or int(u.group(2)) not in [p["port"] for p in svc["spec"]["ports"]]:
                    fail(where, f"{k}={v} does not name a rendered Service and port")
    for o in deployments + jobs:
        kind_name = f"{o['kind']} {o['metadata']['name']}"
        pod = o["spec"]["template"]["spec"]
        psc = pod.get("securityContext") or {}
        if not psc.get("runAsNonRoot") or (psc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
            fail(where, f"{kind_name}: pod must set runAsNonRoot and seccompProfile RuntimeDefault")
        if pod.get("automountServiceAccountToken") is not False:
            fail(where, f"{kind_name}: automountServiceAccountToken must be false")
        vols = {v["name"]: v for v in pod.get("volumes", [])}
        for c in pod["containers"]:
            sc = c.get("securityContext") or {}
            if sc.get("allowPrivilegeEscalation") is not False or sc.get("readOnlyRootFilesystem") is not True \
                    or "ALL" not in (sc.get("capabilities") or {}).get("drop", []):
                fail(where, f"{kind_name}: container needs allowPrivilegeEscalation false, readOnlyRootFilesystem, drop ALL")
            if not any(m["mountPath"] == "/tmp" and "emptyDir" in vols.get(m["name"], {}) for m in c.get("volumeMounts", [])):
                fail(where, f"{kind_name}: /tmp must be an emptyDir (read-only root filesystem)")
            for e in c.get("env", []):
                if "value" in e and (SECRET_VARS.search(e["name"]) or CRED_IN_URL.search(str(e["value"]))):
                    fail(where, f"{kind_name}: {e['name']} is inline; credentials come from secretKeyRef")
                if not is_documented(e["name"]):
                    fail(where, f"{kind_name}: sets {e['name']}, which README.md does not document")
            if not (c.get("resources") or {}).get("requests"):
                fail(where, f"{kind_name}: resources.requests missing")
            if o["kind"] == "Deployment":
                for p in ("startupProbe", "readinessProbe", "livenessProbe"):
                    if p not in c:
                        fail(where, f"{kind_name}: {p} missing")
                sleep = (((c.get("lifecycle") or {}).get("preStop") or {}).get("sleep") or {}).get("seconds")
                grace = pod.get("terminationGracePeriodSeconds", 30)
                if not sleep or grace < sleep + 15:
                    fail(where, f"{kind_name}: needs a preStop sleep and terminationGracePeriodSeconds >= sleep + 15 (drain)")
                ann = o["spec"]["template"]["metadata"].get("annotations") or {}
                if "checksum/config" not in ann:
                    fail(where, f"{kind_name}: checksum/config annotation missing")
                cmd = c.get("command", [""])[0]
                comp = o["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]
                want = "/usr/local/bin/ocomms-gateway" if comp == "gateway" else f"/usr/local/bin/svc-{comp}"
                if cmd != want:
                    fail(where, f"{kind_name}: command {cmd!r}, expected {want!r}")
    for j in jobs:
        ann = j["metadata"].get("annotations") or {}
        if ann.get("helm.sh/hook") != "pre-install,pre-upgrade" or j["spec"]["template"]["spec"]["containers"][0]["command"][-1] != "migrate":
            fail(where, f"Job {j['metadata']['name']}: must be a pre-install,pre-upgrade hook running `ocomms migrate`")

ha = [d for f, d in rendered.items() if f.endswith("external-ha-values.yaml")]
if ha:
    kinds = [yaml.safe_load(b).get("kind") for _, b in ha[0]]
    for k in ("HorizontalPodAutoscaler", "PodDisruptionBudget", "Ingress", "NetworkPolicy"):
        if k not in kinds:
            fail("ci/external-ha-values.yaml", f"renders no {k}")

# --- 4. yamllint ------------------------------------------------------------------
step("yamllint")
lint_targets = [os.path.join(CHART, "Chart.yaml"), os.path.join(CHART, "values.yaml")] + values_files \
    + sorted(glob.glob(os.path.join(ROOT, "k8s/*.yaml"))) + sorted(glob.glob(os.path.join(ROOT, "tilt/*.yaml"))) \
    + sorted(glob.glob(os.path.join(tmp, "*-values.yaml")))
r = subprocess.run([os.path.join(VENV, "bin/yamllint"), "-f", "parsable", "-c", os.path.join(ROOT, "helm/.yamllint")] + lint_targets,
                   capture_output=True, text=True)
if r.returncode != 0:
    fail("yamllint", (r.stdout + r.stderr).strip()[-3000:])
try:
    json.load(open(os.path.join(CHART, "values.schema.json")))
except ValueError as e:
    fail("values.schema.json", str(e))

# --- 6. Tiltfile --------------------------------------------------------------------
step("tilt/Tiltfile (starlark-pyo3, stubbed Tilt builtins)")
import starlark as sl
tiltfile = os.path.join(ROOT, "tilt/Tiltfile")
calls = []
def stub(name, result=None):
    def f(*args, **kwargs):
        calls.append((name, args, kwargs))
        return result
    return f
try:
    mod = sl.Module()
    for name in ["allow_k8s_contexts", "update_settings", "docker_build", "k8s_yaml", "k8s_resource", "watch_file",
                 "local_resource", "custom_build", "default_registry", "load", "print"]:
        mod.add_callable(name, stub(name))
    mod.add_callable("helm", stub("helm", "<rendered chart>"))
    mod.add_callable("local", stub("local", ""))
    mod.add_callable("link", stub("link", "<link>"))
    mod.add_callable("read_file", stub("read_file", ""))
    dialect = sl.Dialect.extended()  # Tilt's: top-level for/if, lambdas, f-strings
    dialect.enable_top_level_stmt = True
    ast = sl.parse("Tiltfile", open(tiltfile).read(), dialect)
    sl.eval(mod, ast, sl.Globals.standard())
    got = {c[0] for c in calls}
    for need in ("docker_build", "k8s_yaml", "helm", "k8s_resource"):
        if need not in got:
            fail("tilt/Tiltfile", f"never calls {need}()")
    tilt_dir = os.path.dirname(tiltfile)
    for name, args, kwargs in calls:
        if name == "helm" and not os.path.isfile(os.path.join(tilt_dir, args[0], "Chart.yaml")):
            fail("tilt/Tiltfile", f"helm({args[0]!r}) is not a chart")
        if name == "helm":
            for v in kwargs.get("values", []):
                if not os.path.isfile(os.path.join(tilt_dir, v)):
                    fail("tilt/Tiltfile", f"values file {v} missing")
                else:
                    dev = yaml.safe_load(open(os.path.join(tilt_dir, v)))
                    try:
                        render(dev)
                    except helm.HelmError as e:
                        fail(f"tilt/{v}", str(e).strip().splitlines()[-1])
        if name == "docker_build" and not os.path.isfile(os.path.join(tilt_dir, kwargs.get("dockerfile", "Dockerfile"))):
            fail("tilt/Tiltfile", "docker_build's dockerfile is missing")
        if name == "k8s_yaml" and isinstance(args[0], str) and args[0].endswith(".yaml") and not os.path.isfile(os.path.join(tilt_dir, args[0])):
            fail("tilt/Tiltfile", f"k8s_yaml({args[0]!r}): no such file")
        if name == "k8s_resource" and "port_forwards" in kwargs and "3000:3000" not in kwargs["port_forwards"]:
            fail("tilt/Tiltfile", "the gateway must be forwarded to 3000")
    if not any(n == "k8s_resource" and "port_forwards" in k for n, _, k in calls):
        fail("tilt/Tiltfile", "no port-forward for the gateway")
except Exception as e:  # a Starlark error
    fail("tilt/Tiltfile", str(e).strip()[-1500:])

# --- 7. Dockerfile ---------------------------------------------------------------------
step("Dockerfile (static)")
def dockerfile_check():
    path = os.path.join(ROOT, "Dockerfile")
    text = re.sub(r"\\\n", " ", open(path).read())
    instrs = []
    for line in text.splitlines():
        s = line.strip()
        if s and not s.startswith("#"):
            op, _, rest = s.partition(" ")
            instrs.append((op.upper(), rest.strip()))
    # Workspace facts from the Cargo manifests.
    packages, bins = {}, {}
    for manifest in glob.glob(os.path.join(ROOT, "*/Cargo.toml")):
        t = open(manifest).read()
        m = re.search(r'(?ms)^\[package\].*?^name\s*=\s*"([^"]+)"', t)
        if not m:
            continue
        pkg = m.group(1)
        packages[pkg] = os.path.basename(os.path.dirname(manifest))
        bins[pkg] = re.findall(r'(?ms)^\[\[bin\]\]\s*\nname\s*=\s*"([^"]+)"', t)
    rust_version = re.search(r'rust-version\s*=\s*"([^"]+)"', open(os.path.join(ROOT, "Cargo.toml")).read())
    args = dict(re.findall(r"^(\w+)=(\S+)$", "\n".join(r for o, r in instrs if o == "ARG"), re.M))
    stages, final_user, final_env, final_copies, entry = [], None, {}, [], None
    ignore = [l.strip().rstrip("/") for l in open(os.path.join(ROOT, ".dockerignore")) if l.strip() and not l.startswith("#")]
    def ignored(p):
        p = p.rstrip("/")
        return any(p == i or p.startswith(i + "/") or (i.startswith("**/") and ("/" + p).endswith("/" + i[3:])) for i in ignore)
    for op, rest in instrs:
        if op == "FROM":
            m = re.match(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?", rest, re.I)
            stages.append(m.group(2))
            final_user, final_env, final_copies, entry = None, {}, [], None
        elif op == "COPY":
            parts = rest.split()
            flags = [p for p in parts if p.startswith("--")]
            srcs = [p for p in parts if not p.startswith("--")][:-1]
            frm = [f.split("=", 1)[1] for f in flags if f.startswith("--from=")]
            if frm:
                if frm[0] not in stages[:-1]:
                    yield f"COPY --from={frm[0]}: no earlier stage of that name"
                final_copies.append((frm[0], srcs, parts[-1]))
            else:
                for s in srcs:
                    if s != "." and not glob.glob(os.path.join(ROOT, s)):
                        yield f"COPY {s}: not in the repository"
                    elif s != "." and ignored(s):
                        yield f"COPY {s}: excluded by .dockerignore"
        elif op == "USER":
            final_user = rest.split(":")[0]
        elif op == "ENV":
            final_env.update(dict(re.findall(r"(\w+)=(\S+)", rest)))
        elif op == "ENTRYPOINT":
            entry = json.loads(rest)
        elif op == "RUN" and "cargo build" in rest:
            built = re.findall(r"-p\s+(\S+)", rest.split("&&")[0])
            for p in built:
                if p not in packages:
                    yield f"cargo build -p {p}: no such workspace package"
            m = re.search(r"for bin in ([^;]+);", rest)
            listed = m.group(1).split() if m else []
            for b in listed:
                if not any(b in bins.get(p, []) for p in built):
                    yield f"binary {b}: not a [[bin]] of the packages built ({', '.join(built)})"
            wanted = {b for p, bs in bins.items() if packages[p] != "e2e" for b in bs}
            if set(listed) != wanted:
                yield f"the image's binaries {sorted(listed)} differ from the workspace's {sorted(wanted)}"
            for chart_bin in ["ocomms", "ocomms-gateway"] + [f"svc-{s}" for s in SERVICES]:
                if chart_bin not in listed:
                    yield f"the chart runs /usr/local/bin/{chart_bin}, which the image lacks"
    if len(stages) < 3:
        yield "expected a multi-stage build"
    if not any(r.startswith("cargo chef cook") for o, r in instrs if o == "RUN"):
        yield "no cargo-chef dependency layer (cargo chef cook)"
    if not any("npm ci" in r for o, r in instrs if o == "RUN") or not any("npm run build" in r for o, r in instrs if o == "RUN"):
        yield "the web client is not built (npm ci, npm run build)"
    if final_user in (None, "", "root", "0"):
        yield f"the final stage runs as {final_user or 'root (no USER)'}: it must be non-root"
    web_dir = final_env.get("WEB_DIR")
    if not web_dir or not any(dst.rstrip("/") == web_dir.rstrip("/") for _, _, dst in final_copies):
        yield f"WEB_DIR={web_dir} is not where the built web client is copied"
    if not entry or not entry[0].startswith("/usr/local/bin/"):
        yield "ENTRYPOINT must be one of the image's binaries"
    if rust_version and args.get("RUST_VERSION") != rust_version.group(1):
        yield f"RUST_VERSION={args.get('RUST_VERSION')} but the workspace's rust-version is {rust_version.group(1)}"
    nv = args.get("NODE_VERSION", "0").split(".")
    if (int(nv[0]), int(nv[1]) if len(nv) > 1 else 0) < (20, 19):
        yield f"NODE_VERSION={args.get('NODE_VERSION')}: web/ needs Node >= 20.19"
    for p in ["target", "web/node_modules", "web/dist", ".git"]:
        if not ignored(p):
            yield f".dockerignore does not exclude {p}"
for problem in dockerfile_check():
    fail("Dockerfile", problem)

elapsed = time.monotonic() - started
if failures:
    print(f"deploy-check: FAILED ({len(failures)} problem(s), {elapsed:.1f}s):", file=sys.stderr)
    for f in failures:
        print(f"  - {f.splitlines()[0]}", file=sys.stderr)
    sys.exit(1)
print(f"deploy-check: OK ({len(values_files)} values files rendered and validated, k8s/ in sync, "
      f"Tiltfile and Dockerfile checked; {elapsed:.1f}s)", file=sys.stderr)
PY
