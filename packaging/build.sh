#!/usr/bin/env bash
# Builds Foveal's Linux desktop bundle from a clean clone of this repository's committed HEAD:
#   dist/foveal/                              one folder, executable dist/foveal/foveal (no Python needed)
#   dist/foveal-VERSION-linux-x86_64.tar.gz   the same folder, portable
#   dist/foveal_VERSION_amd64.deb             installs to /opt/foveal, a desktop entry, the icon, `foveal` on PATH
# Needs python3 (3.11+), git and dpkg-deb; about 10 minutes and 6 GB of disk on the build machine.
# FOVEAL_WEIGHTS_FILE=PATH: MobileNetV2's ImageNet weights file (no top) the bundle carries, so that its first
# training works offline; without it the file in Keras's cache is taken, and without that the bundle has none.
# Windows and macOS bundles come from the same packaging/foveal.spec: .github/workflows/release.yml builds all three.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${FOVEAL_BUILD_DIR:-$ROOT/build/bundle}
DIST=$ROOT/dist
VERSION=$(python3 -c "import tomllib, sys; print(tomllib.load(open(sys.argv[1], 'rb'))['project']['version'])" \
    "$ROOT/pyproject.toml")
started=$(date +%s)

echo "== clean clone of $(git -C "$ROOT" rev-parse --short HEAD) into $BUILD/src"
rm -rf "$BUILD" "$DIST/foveal" "$DIST"/foveal[-_]"$VERSION"*
mkdir -p "$BUILD" "$DIST"
git clone -q "$ROOT" "$BUILD/src"

echo "== build environment (Foveal and PyInstaller, nothing else)"
python3 -m venv "$BUILD/venv"
"$BUILD/venv/bin/pip" install -q "$BUILD/src[bundle]"

echo "== the recommended backbone's ImageNet weights (FOVEAL_WEIGHTS_FILE, else Keras's cache)"
if ! "$BUILD/venv/bin/python" "$BUILD/src/packaging/bundle_weights.py" ${FOVEAL_WEIGHTS_FILE:+"$FOVEAL_WEIGHTS_FILE"} \
        --into "$BUILD/src/resources/weights"; then
    echo "warning: the bundle carries no ImageNet weights: its demo asks for a weights file instead of training" >&2
fi

echo "== PyInstaller one-folder bundle"
(cd "$BUILD/src/packaging" && "$BUILD/venv/bin/pyinstaller" --noconfirm --clean --log-level WARN \
    --distpath "$DIST" --workpath "$BUILD/work" foveal.spec)
cp "$BUILD/src/LICENSE" "$DIST/foveal/LICENSE"
mkdir -p "$DIST/foveal/licenses" && cp "$BUILD/src/resources/licenses/"* "$DIST/foveal/licenses/"
cp "$BUILD/src/resources/weights/"*.txt "$DIST/foveal/licenses/" 2>/dev/null || true  # the weights' notice, if carried

echo "== portable archive"
tar -C "$DIST" -czf "$DIST/foveal-$VERSION-linux-x86_64.tar.gz" foveal

echo "== Debian package"
STAGE=$BUILD/deb
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications"
cp -a "$DIST/foveal" "$STAGE/opt/foveal"
ln -s /opt/foveal/foveal "$STAGE/usr/bin/foveal"
cp "$BUILD/src/packaging/linux/foveal.desktop" "$STAGE/usr/share/applications/foveal.desktop"
for png in "$BUILD/src/resources/icons"/foveal-*.png; do
    size=$(basename "$png" .png | cut -d- -f2)
    mkdir -p "$STAGE/usr/share/icons/hicolor/${size}x${size}/apps"
    cp "$png" "$STAGE/usr/share/icons/hicolor/${size}x${size}/apps/foveal.png"
done
mkdir -p "$STAGE/usr/share/icons/hicolor/scalable/apps"
cp "$BUILD/src/resources/icons/foveal.svg" "$STAGE/usr/share/icons/hicolor/scalable/apps/foveal.svg"
cat > "$STAGE/DEBIAN/control" <<CONTROL
Package: foveal
Version: $VERSION
Architecture: amd64
Maintainer: Foveal <foveal@localhost>
Installed-Size: $(du -sk "$STAGE" | cut -f1)
Depends: libc6 (>= 2.31), libxkbcommon0, libxkbcommon-x11-0, libegl1, libgl1, libfontconfig1, libdbus-1-3,
 libxcb-cursor0, libxcb-icccm4, libxcb-keysyms1, libxcb-image0, libxcb-render-util0, libxcb-xkb1, libxcb-shape0,
 libxcb-randr0, libxcb-xinerama0
Section: science
Priority: optional
Description: Train image classifiers by transfer learning, without writing code
 Foveal turns a folder of images sorted into one sub-folder per class into a classifier that sorts new images
 the same way: a desktop window and a command line on one headless core (TensorFlow / Keras).
CONTROL
dpkg-deb --build --root-owner-group -Zgzip "$STAGE" "$DIST/foveal_${VERSION}_amd64.deb" >/dev/null

echo "== done in $(( $(date +%s) - started )) s"
du -sh "$DIST/foveal" "$DIST/foveal-$VERSION-linux-x86_64.tar.gz" "$DIST/foveal_${VERSION}_amd64.deb"
