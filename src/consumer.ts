// `import ... from "presence-notify/consumer"`: for the server user's side,
// the program that receives the notifications. Only node:crypto behind it,
// none of the daemon's dependencies (a test keeps it so).

export { payloadPseudonym } from "./protocol/pseudonym.js";
export {
  canonicalNotification,
  type Signable,
  type Signature,
  verifyNotification,
} from "./protocol/signature.js";
