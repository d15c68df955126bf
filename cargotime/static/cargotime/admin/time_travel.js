"use strict";
// The left and right arrow keys press Previous and Next, unless the user is typing.
document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) {
        return;
    }
    const rel = {ArrowLeft: "prev", ArrowRight: "next"}[event.key];
    const target = event.target;
    if (!rel || target.isContentEditable || ["INPUT", "SELECT", "TEXTAREA"].includes(target.tagName)) {
        return;
    }
    const link = document.querySelector(`.ct-stepper a[rel="${rel}"]`);
    if (link) {
        event.preventDefault();
        link.click();
    }
});

// "Now" submits its own form, ?tracking_id=…&at=now: with the tracking ID typed
// in the main form, when there is one, rather than the cargo shown.
document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.id !== "ct-now-form") {
        return;
    }
    const typed = document.getElementById("id_tracking_id");
    if (!typed || !typed.value.trim()) {
        return;
    }
    let input = form.querySelector('input[name="tracking_id"]');
    if (!input) {
        input = document.createElement("input");
        input.type = "hidden";
        input.name = "tracking_id";
        form.prepend(input);
    }
    input.value = typed.value.trim();
});
