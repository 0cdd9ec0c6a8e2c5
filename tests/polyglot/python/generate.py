"""Generates the client as `openapi-python-client generate --meta none` does, counting warnings.

The command line prints its warnings as free-form blocks; its library call returns them as a
list, which is written here to the log, one block each, and counted.

    python generate.py SPEC CONFIG OUTPUT LOG

prints the number of warnings; exits 1 (after writing the log) if the client was not generated.
"""

import contextlib
import io
import sys
from pathlib import Path

from openapi_python_client import generate
from openapi_python_client.config import Config, ConfigFile, MetaType
from openapi_python_client.parser.errors import ErrorLevel


def main() -> None:
    spec, config_file, output, log = (Path(arg) for arg in sys.argv[1:5])
    config = Config.from_sources(
        ConfigFile.load_from_path(config_file),
        MetaType.NONE,
        spec,
        file_encoding="utf-8",
        overwrite=True,
        output_path=output,
    )
    printed = io.StringIO()  # its progress lines ("Generating ...") go to the log too
    with contextlib.redirect_stdout(printed):
        problems = generate(config=config)
    with log.open("w") as out:
        out.write(printed.getvalue())
        for problem in problems:
            out.write(f"{problem.level.value}: {problem.header}\n{problem.detail or ''}\n\n")
    if any(problem.level == ErrorLevel.ERROR for problem in problems):
        sys.exit(1)
    print(len(problems))


if __name__ == "__main__":
    main()
