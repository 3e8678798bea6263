"""A wheel carries every file pyproject.toml's package-data names, or is not built.

The page's plotting library (uPlot) is not in the repository: `make install` fetches it with
`npm ci` into gmpsai_assets/publish/vendor. A wheel built before that would install fine and
fail every `published_json` run in production; so building one stops here, naming the fix.
Editable installs (`make install`'s first step, before npm runs) are not checked: they read the
working tree, where the files appear once npm has run.
"""

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


class BuildPyWithPackageData(build_py):
    def run(self) -> None:
        if not self.editable_mode:
            for package, patterns in self.package_data.items():
                root = Path(*package.split("."))
                for pattern in patterns:
                    if not any(root.glob(pattern)):
                        raise SystemExit(
                            f"error: {root / pattern} is missing, and the wheel must carry it "
                            f"(pyproject.toml package-data): run `make install` first (npm ci "
                            f"fetches the page's library into gmpsai_assets/publish/vendor)")
        super().run()


setup(cmdclass={"build_py": BuildPyWithPackageData})
