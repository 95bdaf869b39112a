#!/usr/bin/env bash
# Wraps dist/Foveal.app (built on macOS by `pyinstaller packaging/foveal.spec`) into a disk image:
#   dist/foveal-VERSION-macos-ARCH.dmg   Foveal.app beside a link to Applications (drag one onto the other), the
#                                        license texts beside them; ARCH is arm64 (Apple silicon) or x86_64 (Intel)
# Run on macOS after the build (and after signing, when the app is signed); needs hdiutil, which every Mac has.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DIST=$ROOT/dist
VERSION=$(python3 -c "import tomllib, sys; print(tomllib.load(open(sys.argv[1], 'rb'))['project']['version'])" \
    "$ROOT/pyproject.toml")
DMG=$DIST/foveal-$VERSION-macos-$(uname -m).dmg
[ -d "$DIST/Foveal.app" ] || { echo "error: no $DIST/Foveal.app: build it first (pyinstaller packaging/foveal.spec)" >&2; exit 1; }

STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
ditto "$DIST/Foveal.app" "$STAGE/Foveal.app"  # ditto keeps the bundle's links, attributes and signature as they are
ln -s /Applications "$STAGE/Applications"
cp "$ROOT/LICENSE" "$STAGE/LICENSE.txt"
mkdir "$STAGE/licenses" && cp "$ROOT/resources/licenses/"* "$STAGE/licenses/"

rm -f "$DMG"
# hdiutil now and then fails with "Resource busy" on a freshly written folder; a second try a little later succeeds.
for try in 1 2 3; do
    if hdiutil create -volname "Foveal $VERSION" -srcfolder "$STAGE" -fs HFS+ -format UDZO -ov "$DMG"; then
        du -sh "$DMG"
        exit 0
    fi
    echo "hdiutil failed (try $try of 3); trying again in 10 s" >&2
    sleep 10
done
exit 1
