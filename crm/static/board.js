// Kanban drag and drop: dropping a card posts the same form as its 移至 button, so the server's
// stage gate decides and the page reloads with its Chinese message.
(function () {
  var board = document.querySelector(".board");
  if (!board) return;
  var dragged = null;
  board.addEventListener("dragstart", function (event) {
    // Only the cards the user may move are draggable; a link or text dragged out of another card
    // must not post a move (it would only be refused).
    dragged = event.target.closest('.board-card[draggable="true"]');
    if (!dragged) event.preventDefault();
  });
  board.querySelectorAll(".board-column").forEach(function (column) {
    column.addEventListener("dragover", function (event) { event.preventDefault(); });
    column.addEventListener("drop", function (event) {
      event.preventDefault();
      // 签约 is done on the lead's page (with its date and amount), never by a drop.
      if (!dragged || dragged.closest(".board-column") === column || column.dataset.closed) return;
      var form = document.createElement("form");
      form.method = "post";
      form.action = dragged.dataset.moveUrl;
      var query = window.location.search.replace(/^\?/, "");
      [["csrf_token", board.dataset.csrf], ["stage", column.dataset.stage], ["from", "board"], ["board_query", query]].forEach(function (pair) {
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = pair[0];
        input.value = pair[1];
        form.appendChild(input);
      });
      document.body.appendChild(form);
      form.submit();
    });
  });
})();
