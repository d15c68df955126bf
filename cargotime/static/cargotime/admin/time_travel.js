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
