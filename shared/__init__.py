"""Code every Cohort Scale service uses: config, flags, auth, errors, health, observability."""
