from pathlib import Path

from setuptools import find_packages, setup

here = Path(__file__).parent
version = {}
exec((here / "alfred" / "__init__.py").read_text(), version)

setup(
    name="alfred",
    version=version["__version__"],
    description="Hyperparameter searches from folders and FLAG-files: prepare, launch, clean, summarise.",
    long_description=(here / "README.md").read_text(encoding="utf-8") if (here / "README.md").exists() else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.10",  # zip(strict=); tests/test_packaging.py checks it with vermin
    packages=find_packages(include=["alfred", "alfred.*"]),
    # alfred/schedules_examples is a link to the top-level schedules_examples/ folder:
    # the example schedules ship inside the package, for the demo.
    install_requires=[
        "numpy>=1.23",  # 1.23.5 tested (.ci/floors.txt): projects pinned below 1.24 use np.float
        "pandas>=2.0",
        "matplotlib>=3.7",
        # alfred no longer imports seaborn (its look is spelled out in alfred/utils/plots/style.py),
        # but 0.2 installed it and projects written for 0.2 may import it: kept for them.
        "seaborn>=0.13",
        "tqdm>=4.60",
    ],
    extras_require={
        "wandb": ["wandb>=0.17"],
        "slurm": ["submitit>=1.5"],
        # Adaptive search's model-based samplers (TPE, CMA-ES; GP also needs torch, not listed: heavy).
        "adaptive": ["optuna>=3.6", "cmaes>=0.10"],
        # benchmarks/bench_adaptive_search.py: the LCBench surrogate is an ONNX model.
        "benchmarks": ["optuna>=3.6", "cmaes>=0.10", "onnxruntime>=1.16"],
        # arch and absl-py: rliable's bootstrap, for the parity tests (tests/test_stats_rliable.py);
        # rliable itself pins arch < 8, which does not import with pandas 3: .ci/run installs it
        # with --no-deps.
        "test": ["pytest>=7.0", "scipy>=1.15", "wandb>=0.17", "submitit>=1.5", "build>=1.0", "vermin>=1.6",
                 "selenium>=4.10", "optuna>=3.6", "cmaes>=0.10", "onnxruntime>=1.16", "arch>=8.0", "absl-py>=1.0"],
    },
    entry_points={"console_scripts": ["alfred=alfred.cli:main"]},
)
