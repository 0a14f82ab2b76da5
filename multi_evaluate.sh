#!/usr/bin/env bash
# Runs evaluate_sample.py for every released checkpoint combination.
#
# I3D: Carreira & Zisserman, "Quo Vadis, Action Recognition? A New Model and
# the Kinetics Dataset", CVPR 2017.
#
# One report per combination, written atomically to $OUT_DIR (default: out/
# beside this script), under the original's names:
#
#   imagenet_rgb.txt     imagenet_flow.txt     imagenet_joint.txt
#   no_imagenet_rgb.txt  no_imagenet_flow.txt  no_imagenet_joint.txt
#   rgb600.txt           (Kinetics-600, trained from scratch)
#
# The original passed '--imagenet_pretrained false', which a boolean flag
# reads as true (and 'false' as a stray argument), so its no_imagenet_*
# outputs are the ImageNet ones. Here the flag is written
# --imagenet_pretrained=false.
#
# evaluate_sample.py fetches an absent checkpoint or DeepMind's sample on
# first use (pinned, verified); a combination whose input is absent and
# cannot be fetched (offline, or --nofetch) is reported as
# "skipped: <name>: <reason>"; any other error as "failed: ...". Arguments
# are passed on to every run, e.g.
#
#   ./multi_evaluate.sh --checkpoint_dir=/path/to/checkpoints
#   OUT_DIR=/tmp/sample ./multi_evaluate.sh --video=sample
#
# Environment: OUT_DIR (default out/ beside this script), PYTHON (default
# python). Exit status: 0 if at least one report was written and none
# failed, 1 if any failed, 2 if every combination was skipped.

set -u

here="$(cd "$(dirname "$0")" && pwd)"
out_dir="${OUT_DIR:-$here/out}"
python="${PYTHON:-python}"

if ! mkdir -p "$out_dir"; then
  echo "multi_evaluate.sh: cannot create OUT_DIR $out_dir" >&2
  exit 1
fi
err_file="$(mktemp)"
trap 'rm -f "$err_file"' EXIT

# name, --eval_type, --imagenet_pretrained value ('' where it does not apply).
combinations=(
  "imagenet_rgb rgb true"
  "imagenet_flow flow true"
  "imagenet_joint joint true"
  "no_imagenet_rgb rgb false"
  "no_imagenet_flow flow false"
  "no_imagenet_joint joint false"
  "rgb600 rgb600 -"
)

written=0
skipped=0
failed=0
for combination in "${combinations[@]}"; do
  read -r name eval_type imagenet <<< "$combination"
  args=(--eval_type="$eval_type")
  if [[ "$imagenet" != "-" ]]; then
    args+=(--imagenet_pretrained="$imagenet")
  fi
  target="$out_dir/$name.txt"
  "$python" "$here/evaluate_sample.py" "${args[@]}" --output="$target" \
      --overwrite "$@" > /dev/null 2> "$err_file"
  status=$?
  reason="$(grep -v '^\s*$' "$err_file" | tail -n 1)"
  case "$status" in
    0)
      echo "wrote $target"
      written=$((written + 1))
      ;;
    3)  # evaluate_sample.py's status for an absent checkpoint or sample.
      echo "skipped: $name: $reason"
      skipped=$((skipped + 1))
      ;;
    *)
      echo "failed: $name (exit status $status): $reason"
      failed=$((failed + 1))
      ;;
  esac
done

echo "multi_evaluate.sh: $written written, $skipped skipped, $failed failed" \
     "(reports in $out_dir)"
if (( failed > 0 )); then
  exit 1
elif (( written == 0 )); then
  exit 2
fi
exit 0
