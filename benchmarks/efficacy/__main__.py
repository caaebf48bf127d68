"""``python -m benchmarks.efficacy [--quick | --pilot] [--workers N] [--out DIR]`` (see ``sweep``)."""

from .sweep import main

if __name__ == "__main__":
    main()
