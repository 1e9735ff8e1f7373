/* The import page: refuse a file over the import's size limit before uploading it. */
(function () {
  "use strict";
  const LIMIT = 50 * 1024 * 1024;

  document.addEventListener("change", (event) => {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "file") return;
    if (!input.closest(".import-upload")) return;
    const file = input.files && input.files[0];
    const tooLarge = Boolean(file && file.size > LIMIT);
    input.setCustomValidity(
      tooLarge ? "The file is too large: an import accepts at most 50 MB." : ""
    );
    if (tooLarge) input.reportValidity();
  });
})();
