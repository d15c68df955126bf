"use strict";
// An instant input: the text box is submitted; the date and time boxes beside it
// carry the admin's calendar and clock. What is picked there is written into the
// text box as "<date> <time>", in the formats the server reads back.
(function() {
    function wire(pick) {
        const text = document.getElementById(pick.dataset.ctInstantFor);
        const date = pick.querySelector(".vDateField");
        const time = pick.querySelector(".vTimeField");
        if (!text || !date || !time) {
            return;
        }
        const picked = () => `${date.value.trim()} ${time.value.trim()}`.trim();
        let seen = picked();
        // The shortcuts set a value and focus its box, and send no event of their own.
        const sync = () => {
            const value = picked();
            if (value !== seen) {
                seen = value;
                text.value = value;
            }
        };
        for (const box of [date, time]) {
            for (const type of ["input", "change", "focus", "blur"]) {
                box.addEventListener(type, sync);
            }
        }
        if (text.form) {
            text.form.addEventListener("submit", sync);
        }
        pick.hidden = false;
    }

    function init() {
        document.querySelectorAll("[data-ct-instant-for]").forEach(wire);
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", init);
    } else {
        init();
    }
})();
