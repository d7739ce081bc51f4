// The catalogue-entry picker for fields that take several codes (an enterprise's, a project's): a
// search box beside the field offers every entry by code, name or synonym (the page's
// #catalogue-entries list); choosing one adds its code to the field. Typing codes still works.
(function () {
  var options = document.getElementById("catalogue-entries");
  if (!options) return;
  var known = {};
  Array.prototype.forEach.call(options.options, function (option) { known[option.value] = true; });
  document.querySelectorAll("[data-catalogue-multi]").forEach(function (field) {
    var search = document.createElement("input");
    search.className = "form-control form-control-sm mt-1";
    search.setAttribute("list", "catalogue-entries");
    search.setAttribute("placeholder", "搜索目录条目（代码、名称或同义词）并加入");
    search.setAttribute("aria-label", "搜索并加入目录条目");
    field.insertAdjacentElement("afterend", search);
    search.addEventListener("change", function () {
      var code = search.value.trim().toUpperCase();
      if (!known[code]) return;
      var codes = field.value.split(/[,，、\s]+/).filter(Boolean);
      if (codes.indexOf(code) === -1) codes.push(code);
      field.value = codes.join(", ");
      search.value = "";
    });
  });
})();
