"""What the workbench's player plays (the clip page's and both of the compare page's): the
viewing copy, or the original itself, or why nothing; and where the player's time 0 lies in the
original's own time, in which keyframes, matched segments and links are given."""

from __future__ import annotations

import json

from api.schemas import ClipOut
from storage.models import Clip
from storage.vocabulary import ClipStatus

# Clips still being analysed (their archive rows ask for themselves again until they are done).
UNSETTLED = frozenset({ClipStatus.queued.value, ClipStatus.processing.value})


def start_of(clip: Clip) -> float:
    """The original's own time of its first frame (ffprobe's `start_time`: an MPEG-TS often starts
    at 1.4 s), 0 when unknown."""
    try:
        started = json.loads(clip.probe_raw or "{}").get("format", {}).get("start_time")
        return max(float(started), 0.0) if started is not None else 0.0
    except (TypeError, ValueError, AttributeError):
        return 0.0


def playback_of(clip: ClipOut, may_download: bool, start_s: float) -> dict[str, object]:
    """What the player plays, and how it is labelled; or why there is nothing to play. A clip
    whose original a browser cannot play plays its viewing copy (for anyone who sees the clip:
    watching is not taking the original); one it can plays the original itself (the download
    permission: its bytes are the evidence). `offset`: the original's time at the player's 0 (a
    viewing copy starts at 0 where the original starts at `start_s`; keyframes, segments and links
    are in the original's time)."""
    if clip.viewing_copy is not None:
        copy = clip.viewing_copy
        label = (
            f"Viewing copy, not the original: made by Verity for the browser ({copy.video_codec} "
            f"{copy.width}×{copy.height}), since {'; '.join(copy.needed_because)}. "
            "The evidence is the original file."
        )
        return {"playback": {"kind": "viewing-copy", "label": label, "url": copy.url, "offset": start_s}}
    if not (clip.media or {}).get("video"):
        reason = "analysis has not finished" if clip.status in UNSETTLED else "the file holds no video Verity can read"
        return {"playback": None, "no_playback": f"Nothing to play: {reason}."}
    if clip.browser_playable is False:
        why = f" ({clip.viewing_copy_warning})" if clip.viewing_copy_warning else ""
        return {
            "playback": None,
            "no_playback": f"A browser cannot play this file and no viewing copy could be made{why}; "
            "the keyframes below show it.",
        }
    if not may_download:
        return {
            "playback": None,
            "no_playback": "Playing this clip needs the download permission in its case; the keyframes below show it.",
        }
    label = "The original file, as received (the evidence itself)."
    return {"playback": {"kind": "original", "label": label, "url": f"/api/v1/clips/{clip.id}/playback", "offset": 0}}
