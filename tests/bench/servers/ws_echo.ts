/** A WebSocket echo origin for the WebSocket benchmark (tests/bench/websocket.ts). */
import { announceListening } from "./announce.ts";

Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen: announceListening },
  (request) => {
    const { socket, response } = Deno.upgradeWebSocket(request);
    socket.onmessage = (event) => socket.send(event.data);
    return response;
  },
);
