// Small hand-written declarations for the parts of xmpp.js this project uses.
// @xmpp/component 0.13.1 and @xmpp/client 0.14.0 ship no types.

declare module "@xmpp/xml" {
  export class Element {
    constructor(name: string, attrs?: Record<string, string | undefined>);
    name: string;
    attrs: Record<string, string | undefined>;
    children: (Element | string)[];
    parent: Element | null;
    is(name: string, xmlns?: string): boolean;
    getName(): string;
    getNS(): string | undefined;
    getChild(name: string, xmlns?: string): Element | undefined;
    getChildren(name: string, xmlns?: string): Element[];
    getChildElements(): Element[];
    getChildText(name: string, xmlns?: string): string | null;
    getText(): string;
    text(): string;
    append(...children: (Element | string)[]): Element;
    c(name: string, attrs?: Record<string, string>): Element;
    t(text: string): Element;
    up(): Element;
    root(): Element;
    toString(): string;
  }
  export type Node = Element | string | null | undefined;
  export function xml(
    name: string,
    attrs?: Record<string, string | undefined> | null,
    ...children: (Node | Node[])[]
  ): Element;
  export class Parser {
    constructor();
    write(chunk: string): void;
    end(chunk?: string): void;
    on(event: "element", fn: (el: Element) => void): this;
    on(event: "start", fn: (el: Element) => void): this;
    on(event: "error", fn: (err: Error) => void): this;
  }
  export function escapeXML(s: string): string;
  export function escapeXMLText(s: string): string;
  const _default: typeof xml & {
    Element: typeof Element;
    Parser: typeof Parser;
    escapeXML: typeof escapeXML;
    escapeXMLText: typeof escapeXMLText;
  };
  export default _default;
}

declare module "@xmpp/component" {
  import type { EventEmitter } from "node:events";
  import type { Element } from "@xmpp/xml";

  export interface Component extends EventEmitter {
    status: string;
    jid: { toString(): string } | null;
    reconnect: { stop(): void; start(): void };
    start(): Promise<unknown>;
    /** What start() does, in two steps (@xmpp/connection). */
    connect(service: string): Promise<unknown>;
    open(options: { domain: string; lang?: string }): Promise<unknown>;
    options: { service: string; domain: string; lang?: string };
    stop(): Promise<unknown>;
    send(el: Element): Promise<void>;
    write(s: string): Promise<void>;
    iqCallee: {
      get(ns: string, name: string, handler: (ctx: unknown) => unknown): void;
      set(ns: string, name: string, handler: (ctx: unknown) => unknown): void;
    };
    socket: { destroy(): void; setNoDelay?(noDelay: boolean): unknown } | null;
  }
  export function component(options: {
    service: string;
    domain: string;
    password: string;
  }): Component;
  export const xml: typeof import("@xmpp/xml").default;
}
