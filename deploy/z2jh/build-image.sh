#!/usr/bin/env bash
# Build the learners' image for Zero to JupyterHub with repo2docker from the repository's binder/
# folder, and push it. CONFIGURATION ONLY: not run by the tests (needs Docker and a registry).
#   IMAGE=registry.example.org/collapse-edu/workshop bash deploy/z2jh/build-image.sh [COMMIT]
# Then set singleuser.image.name/tag in deploy/z2jh/values.yaml to what this prints.
set -euo pipefail
image="${IMAGE:?set IMAGE to the registry path, e.g. registry.example.org/collapse-edu/workshop}"
repo="${COURSE_REPO:-https://github.com/collapse-edu/collapse-edu}"
ref="${1:-main}"
python3 -m pip install --quiet jupyter-repo2docker
commit="$(git ls-remote "$repo" "$ref" | cut -c1-12)"
commit="${commit:-$ref}"
# The image's $HOME is hidden by the learner's volume on the cluster: the course itself arrives through
# the nbgitpuller link; the image only has to hold the packages (binder/requirements.txt).
jupyter-repo2docker --no-run --user-id 1000 --user-name jovyan --ref "$ref" --image-name "$image:$commit" "$repo"
docker push "$image:$commit"
echo "singleuser.image: name $image, tag $commit"
