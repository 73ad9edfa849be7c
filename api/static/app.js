// The workbench's own script (no inline script anywhere: the Content-Security-Policy forbids it).
"use strict";

// Keyframe strip: a click seeks the player to the keyframe's time.
document.addEventListener("click", (event) => {
  const player = document.getElementById("player");
  const seek = event.target.closest("button.seek");
  if (seek && player) {
    player.currentTime = Number(seek.dataset.time);
    player.focus();
  }
  // Link form: "mark in" / "mark out" write the player's time (to the millisecond) into the field.
  const mark = event.target.closest("button.mark");
  if (mark && player) {
    document.getElementById(mark.dataset.mark).value = player.currentTime.toFixed(3);
  }
});

// Compare page: the copy's player follows this clip's at the matched offset (of the segment the
// time falls in, else the nearest), on seek, play and pause, and is pulled back if it drifts.
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
  const follow = () => {
    if (!left || !right || !lock.checked) return;
    right.currentTime = Math.max(0, left.currentTime + offsetAt(left.currentTime));
  };
  if (left && right) {
    left.addEventListener("seeked", follow);
    left.addEventListener("play", () => { if (lock.checked) { follow(); right.play(); } });
    left.addEventListener("pause", () => { if (lock.checked) { right.pause(); follow(); } });
    left.addEventListener("timeupdate", () => {
      const wanted = left.currentTime + offsetAt(left.currentTime);
      if (lock.checked && !left.paused && Math.abs(right.currentTime - wanted) > 0.25) right.currentTime = wanted;
    });
  }
  document.getElementById("to-match").addEventListener("click", () => {
    if (left && segments.length) left.currentTime = segments[0].query_start_s;
  });
}
