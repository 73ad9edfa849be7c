// The workbench's own script (no inline script anywhere: the Content-Security-Policy forbids it).
"use strict";

// Keyframe strip: a click seeks the player to the keyframe's time.
document.addEventListener("click", (event) => {
  const button = event.target.closest("button.seek");
  if (!button) return;
  const player = document.getElementById("player");
  if (!player) return;
  player.currentTime = Number(button.dataset.time);
  player.focus();
});
