// The moderators' desk (admin queue item page): media stay blurred and muted until "Reveal";
// each still of the frame strip is the video seeked to its time (data-time, in seconds) or to its
// fraction of the clip (data-fraction). Served as a file: the admin's CSP runs no inline script.
"use strict";

function stillSeek(still) {
  const seek = () => {
    const duration = still.duration;
    let time = still.dataset.time !== undefined
      ? parseFloat(still.dataset.time)
      : parseFloat(still.dataset.fraction) * duration;
    if (!Number.isFinite(time)) return;
    if (Number.isFinite(duration)) time = Math.min(time, Math.max(duration - 0.05, 0));
    still.currentTime = time;
  };
  if (still.readyState >= 1) seek();
  else still.addEventListener("loadedmetadata", seek, { once: true });
}

function reveal(button) {
  document.querySelectorAll(".sensitive").forEach((element) => element.classList.add("revealed"));
  const video = document.getElementById("subject-video");
  if (video) {
    video.muted = false;
    video.controls = true;
  }
  button.disabled = true;
  button.textContent = "Revealed";
}

document.addEventListener("DOMContentLoaded", () => {
  const button = document.getElementById("reveal");
  if (button) button.addEventListener("click", () => reveal(button));
  document.querySelectorAll("video.still").forEach(stillSeek);
});
