#!/usr/bin/env bash
# What a new user gets, proven against the packed package: `npm pack` this project, `ls-ml-backend create`
# a project in a temp folder with `--sdk <tarball>`, `npm install` it, run its `npm test` (tsc + vitest),
# then `npm start` it, check /health and /setup, send Label Studio's annotation webhooks, train it with
# `ls-ml-backend train --wait` (its model.ts, loaded by the built CLI from outside this repo, in a
# training thread) and check that /predict serves the new version.
# Installs reuse the npm cache (--prefer-offline). KEEP_SCAFFOLD=1 keeps the temp folder for a look.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
export ONNXRUNTIME_NODE_INSTALL=skip
unset REDIS_URL MODEL MODEL_DIR PORT HOST BASIC_AUTH_USER BASIC_AUTH_PASS WEBHOOK_SECRET LABEL_STUDIO_URL LABEL_STUDIO_API_KEY

work=$(mktemp -d "${TMPDIR:-/tmp}/ls-ml-scaffold-XXXXXX")
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill -- "-$server_pid" 2>/dev/null || true; fi
  if [ "${KEEP_SCAFFOLD:-}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
step() { printf '\n== %s (at %ss)\n' "$1" "$SECONDS"; }
fail() {
  echo "scaffold check FAILED: $*" >&2
  if [ -f "$work/server.log" ]; then tail -n 40 "$work/server.log" >&2; fi
  exit 1
}

step "npm pack (builds through prepack)"
tarball="$work/$(npm pack --silent --pack-destination "$work" | tail -n 1)"
[ -f "$tarball" ] || fail "npm pack wrote no tarball"

step "ls-ml-backend create my-backend --sdk <tarball>"
node "$repo/dist/src/cli/index.js" create "$work/my-backend" --sdk "$tarball"
cd "$work/my-backend"

step "npm install"
npm install --no-audit --no-fund --prefer-offline

step "the installed package's create writes the same project"
npx --no-install ls-ml-backend create "$work/again/my-backend" --sdk "$tarball" >/dev/null
diff -r -x node_modules -x package-lock.json -x package.json "$work/my-backend" "$work/again/my-backend" || fail "the packed templates differ from the repo's"

step "npm test"
npm test

step "npm start"
port=$(node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
url="http://127.0.0.1:$port"
MODEL_DIR="$work/data" TRAIN_DEBOUNCE_MS=0 setsid npm start -- --port "$port" --host 127.0.0.1 >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 150); do
  curl -fsS "$url/health" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || fail "npm start exited"
  sleep 0.2
done
health=$(curl -fsS "$url/health") || fail "no /health"
echo "/health: $health"
[[ $health == *'"model_class":"TextClassifier"'* ]] || fail "/health does not serve the scaffold's model: $health"

config='<View><Text name=\"text\" value=\"$text\"/><Choices name=\"sentiment\" toName=\"text\"><Choice value=\"Positive\"/><Choice value=\"Negative\"/></Choices></View>'
setup=$(curl -fsS -X POST "$url/setup" -H 'content-type: application/json' -d "{\"project\":\"1.1700000000\",\"schema\":\"$config\"}") || fail "/setup failed"
echo "/setup: $setup"
[ "$setup" = '{"model_version":"TextClassifier-v0"}' ] || fail "unexpected /setup answer: $setup"

step "annotation webhooks, then ls-ml-backend train 1 --wait"
id=0
for pair in "love it, great:Positive" "great and happy:Positive" "terrible, it broke:Negative" "awful and terrible:Negative"; do
  id=$((id + 1))
  text=${pair%%:*} label=${pair##*:}
  curl -fsS -X POST "$url/webhook" -H 'content-type: application/json' -d "{\"action\":\"ANNOTATION_CREATED\",\"project\":{\"id\":1},\"task\":{\"id\":$id,\"data\":{\"text\":\"$text\"}},\"annotation\":{\"id\":$id,\"task\":$id,\"result\":[{\"from_name\":\"sentiment\",\"to_name\":\"text\",\"type\":\"choices\",\"value\":{\"choices\":[\"$label\"]}}]}}" >/dev/null || fail "webhook $id refused"
done
trained=$(npx --no-install ls-ml-backend train 1 --url "$url" --wait) || fail "train --wait exited non-zero: $trained"
echo "$trained"
[[ $trained == *'new version TextClassifier-v1'* ]] || fail "the training published no version"
predicted=$(curl -fsS -X POST "$url/predict" -H 'content-type: application/json' -d '{"project":"1.1700000000","tasks":[{"id":9,"data":{"text":"great, love it"}}]}') || fail "/predict failed"
echo "/predict: $predicted"
[[ $predicted == *'"model_version":"TextClassifier-v1"'*'"Positive"'* ]] || fail "/predict does not serve the trained version: $predicted"

echo
echo "scaffold check passed in ${SECONDS}s"
