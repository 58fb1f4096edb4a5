// The hub's offline GraphiQL: every file comes from this origin (server/static/ide).
// Paste `{"Authorization": "Bearer <token>"}` into the Headers tab; nothing is stored
// beyond this tab (sessionStorage "hub-ide:headers" and "hub-ide:query" prefill it).
(function () {
  "use strict";
  var stored = window.sessionStorage;
  var headers = stored.getItem("hub-ide:headers") || '{\n  "Authorization": "Bearer "\n}';
  var query = stored.getItem("hub-ide:query") || "query Me {\n  viewer {\n    subject\n    roles\n  }\n}\n";
  var fetcher = GraphiQL.createFetcher({ url: window.location.origin + "/graphql" });
  var root = ReactDOM.createRoot(document.getElementById("graphiql"));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: query,
      defaultHeaders: headers,
      defaultEditorToolsVisibility: "headers",
      shouldPersistHeaders: false,
    })
  );
})();
