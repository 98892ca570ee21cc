"""Regenerate the committed protobuf and purerpc stubs from `proto/monitord.proto`.

    python -m monitord.proto.regenerate          # rewrites monitord/proto/monitord_pb2.py(i), monitord_grpc.py

Needs grpcio-tools (a test dependency); the daemon and the agent only import the results, so the
runtime never needs it. `tests/test_proto.py` regenerates into a temporary directory and fails on
any difference, so the committed stubs cannot drift from the .proto file.

The .proto file is compiled under the virtual path `monitord/proto/monitord.proto`: the generated
modules then import each other as `monitord.proto.monitord_pb2`, which is where they live.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PROTO_FILE = REPO / "proto" / "monitord.proto"
PACKAGE_DIR = Path(__file__).resolve().parent
GENERATED = ("monitord_pb2.py", "monitord_pb2.pyi", "monitord_grpc.py")


def generate(out_dir: Path, *, grpcio: bool = False) -> Path:
    """Compile the .proto into `out_dir`; returns the directory holding the modules.

    With `grpcio`, also writes `monitord_pb2_grpc.py` (the reference grpcio stubs, test-only).
    Raises RuntimeError with protoc's message when compilation fails.
    """
    plugin = shutil.which("protoc-gen-purerpc", path=str(Path(sys.executable).parent)) or shutil.which(
        "protoc-gen-purerpc"
    )
    if plugin is None:
        raise RuntimeError("protoc-gen-purerpc not found: install purerpc in this environment")
    command = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        f"--plugin=protoc-gen-purerpc={plugin}",
        f"--proto_path=monitord/proto={PROTO_FILE.parent}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--purerpc_out={out_dir}",
        *([f"--grpc_python_out={out_dir}"] if grpcio else []),
        str(PROTO_FILE),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"protoc failed: {result.stderr.strip()}")
    return out_dir / "monitord" / "proto"


def main() -> int:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        produced = generate(Path(tmp))
        for name in GENERATED:
            shutil.copyfile(produced / name, PACKAGE_DIR / name)
            print(f"wrote {PACKAGE_DIR / name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
