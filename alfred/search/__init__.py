"""Running searches: preparing storage dirs, workers, launches, SLURM jobs, cleaning, status."""
