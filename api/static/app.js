// The workbench's own script (no inline script anywhere: the Content-Security-Policy forbids it).
"use strict";

// Keyframes, matched segments and links are in the original's own time; a player's time 0 is the
// original's `data-offset` (a viewing copy starts at 0 where the original may start later).
const offsetOf = (player) => Number(player.dataset.offset || 0);
const fileTime = (player) => player.currentTime + offsetOf(player);
const seekTo = (player, time) => {
  const at = time - offsetOf(player);
  const end = Number.isFinite(player.duration) ? player.duration : Infinity;
  if (at < 0 || at > end) return false;
  player.currentTime = at;
  return true;
};

document.addEventListener("click", (event) => {
  const player = document.getElementById("player");
  const seek = event.target.closest("button.seek");
  if (seek && player) {
    seekTo(player, Number(seek.dataset.time));
    player.focus();
  }
  // Link form: "mark in" / "mark out" write the original's time at the player (to the millisecond).
  const mark = event.target.closest("button.mark");
  if (mark && player) {
    document.getElementById(mark.dataset.mark).value = fileTime(player).toFixed(3);
  }
});

// Compare page: the copy's player follows this clip's at the matched offset (of the segment the
// time falls in, else the nearest), on seek, play and pause, and is pulled back if it drifts; out
// of the copy's range it waits (paused) rather than seeking on every tick.
const compare = document.getElementById("compare");
if (compare) {
  const left = document.getElementById("player");
  const right = document.getElementById("player-other");
  const segments = JSON.parse(compare.dataset.segments || "[]");
  const lock = document.getElementById("lock");
  const offsetAt = (time) => {
    let best = segments[0];
    let bestGap = Infinity;
    for (const segment of segments) {
      const end = segment.query_start_s + segment.duration_s;
      const gap = time < segment.query_start_s ? segment.query_start_s - time : Math.max(0, time - end);
      if (gap < bestGap) { best = segment; bestGap = gap; }
    }
    return best ? best.clip_start_s - best.query_start_s : 0;
  };
  const wanted = () => fileTime(left) + offsetAt(fileTime(left));
  const follow = () => {
    if (!left || !right || !lock.checked) return;
    if (!seekTo(right, wanted())) right.pause();
  };
  const playRight = () => { right.play().catch(() => { /* not yet playable, or out of range */ }); };
  if (left && right) {
    left.addEventListener("seeked", follow);
    left.addEventListener("play", () => { if (lock.checked) { follow(); playRight(); } });
    left.addEventListener("pause", () => { if (lock.checked) { right.pause(); follow(); } });
    left.addEventListener("timeupdate", () => {
      if (!lock.checked || left.paused) return;
      const drift = Math.abs(fileTime(right) - wanted());
      if (drift > 0.25 && seekTo(right, wanted()) && right.paused) playRight();
    });
  }
  document.getElementById("to-match").addEventListener("click", () => {
    if (left && segments.length) seekTo(left, segments[0].query_start_s);
  });
}
