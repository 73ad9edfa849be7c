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
