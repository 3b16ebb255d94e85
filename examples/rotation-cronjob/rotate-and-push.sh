#!/bin/sh
# Clone the repository, rotate every data key that is older than $OLDER_THAN,
# bring recipients in line with .sops.yaml, and push the result to a new branch
# for review. It never pushes to the base branch: the change goes through a
# pull request like any other.
set -eu

: "${REPO_URL:?set REPO_URL to the repository to clone}"
BASE_BRANCH="${BASE_BRANCH:-main}"
BRANCH="${BRANCH:-hush/rotation-$(date -u +%Y%m%d-%H%M%S)}"
TREE="${TREE:-.}"
OLDER_THAN="${OLDER_THAN:-30d}"
WORKDIR="${WORKDIR:-$(mktemp -d)}"
GIT_NAME="${GIT_NAME:-hush rotation bot}"
GIT_EMAIL="${GIT_EMAIL:-hush-rotation@localhost}"

if [ "$BRANCH" = "$BASE_BRANCH" ]; then
    echo "refusing to push rotation straight to $BASE_BRANCH" >&2
    exit 2
fi

git clone --quiet --branch "$BASE_BRANCH" "$REPO_URL" "$WORKDIR/repo"
cd "$WORKDIR/repo"
git checkout --quiet -b "$BRANCH"

# The JSON report goes into the commit message so reviewers see what changed.
hush rotate --all "$TREE" --older-than "$OLDER_THAN" --output json > "$WORKDIR/rotate.json"
hush updatekeys --all --yes "$TREE"

if git diff --quiet; then
    echo "hush rotation: nothing to rotate"
    exit 0
fi

# Only files Git already tracks: a stray temp file is never committed.
git add --update -- "$TREE"
git -c user.name="$GIT_NAME" -c user.email="$GIT_EMAIL" commit --quiet \
    -m "hush: rotate data keys older than $OLDER_THAN and update recipients" \
    -m "$(cat "$WORKDIR/rotate.json")"
git push --quiet origin "refs/heads/$BRANCH:refs/heads/$BRANCH"
echo "hush rotation: pushed $BRANCH; open a pull request against $BASE_BRANCH"
