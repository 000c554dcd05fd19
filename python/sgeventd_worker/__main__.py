"""``python -m sgeventd_worker``: the same as the sgeventd-python-worker script."""

from sgeventd_worker.worker import main

if __name__ == "__main__":
    main()
