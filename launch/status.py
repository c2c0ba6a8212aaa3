"""`nucleate status CAMPAIGN`: one line per run (walker): state, steps done of the target, ns/day,
ETA, how often its jobs were resubmitted, and the last failure."""

from __future__ import annotations

from pathlib import Path

from nucleate.engine import rundir as rd

from .campaign import Campaign


def status_rows(campaign: Campaign) -> list[dict]:
    current = campaign.record.get("current") or {}
    jobs = current.get("jobs", {})
    rows = []
    for run in campaign.runs:
        done, target = campaign.steps_done(run), run["target_step"]
        rate, timestep_fs = _rate_and_timestep(Path(run["rundir"]))
        resubmitted = sum(r["runs"].get(run["name"], {}).get("resubmitted", 0) for r in campaign.record["rounds"])
        resubmitted += jobs.get(run["name"], {}).get("fail_count", 0)
        if run.get("failed"):
            state = "failed"
        elif done >= target:
            state = "done"
        elif run["name"] in current.get("runs", []):
            state = {"running": "running", "waiting": "queued"}.get(str(jobs.get(run["name"], {}).get("state", "")),
                                                                  str(jobs.get(run["name"], {}).get("state", "submitted")))
        else:
            state = "waiting"
        ns_per_day = rate * timestep_fs * 1e-6 * 86400 if rate and timestep_fs else None
        eta_s = (target - done) / rate if rate and done < target else None
        rows.append({"name": run["name"], "state": state, "steps": done, "target": target,
                     "ns_per_day": round(ns_per_day, 4) if ns_per_day else None,
                     "eta_s": round(eta_s) if eta_s is not None else None, "resubmitted": resubmitted,
                     "last_failure": run.get("last_failure") or run.get("failed"),
                     "job_id": jobs.get(run["name"], {}).get("job_id")})
    return rows


def format_rows(rows: list[dict]) -> str:
    header = f"{'run':<24} {'state':<9} {'steps':>21} {'ns/day':>8} {'ETA':>10} {'resub':>5}  last failure"
    lines = [header]
    for r in rows:
        steps = f"{r['steps']}/{r['target']}"
        rate = f"{r['ns_per_day']:.3g}" if r["ns_per_day"] else "-"
        eta = _hms(r["eta_s"]) if r["eta_s"] is not None else "-"
        lines.append(f"{r['name']:<24} {r['state']:<9} {steps:>21} {rate:>8} {eta:>10} {r['resubmitted']:>5}  "
                     f"{r['last_failure'] or ''}")
    return "\n".join(lines)


def _rate_and_timestep(rundir: Path) -> tuple[float | None, float | None]:
    """Steps per wall-clock second over the run's segments (start-up included) and the timestep in fs,
    from one read of its manifest (None for a run not rendered yet)."""
    try:
        manifest = rd.RunDirectory(rundir).manifest()
    except Exception:  # noqa: BLE001 - a run not rendered yet has no rate
        return None, None
    segments = manifest.get("segments", [])
    steps = sum(max(s["end_step"] - s["start_step"], 0) for s in segments)
    wall = sum(s.get("wall_s") or 0.0 for s in segments)
    timestep = manifest.get("timestep_fs")
    return (steps / wall if steps and wall else None), (float(timestep) if timestep is not None else None)


def _hms(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600:d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
