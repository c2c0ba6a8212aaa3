"""Launching run directories on batch schedulers (Slurm, PBS, LSF) or this machine's shell,
through dpdispatcher: machine profiles, campaigns that chain walltime-limited jobs until each run
reaches its target step, resubmit jobs that die, and run multiple METAD walkers.

    profile.py    the machine profile (YAML): scheduler, resources, set-up lines, engine command
    walkers.py    one spec -> N walker run directories sharing one hills folder
    campaign.py   the campaign record (campaign.json) and the rounds of jobs that drive it
    remote.py     an SSH profile's run directories: uploaded once, copied back whole after each round
    status.py     one line per run: state, steps, ns/day, ETA, retries, last failure
"""
