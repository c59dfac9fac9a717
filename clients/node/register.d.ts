// `import 'wix-oauth-mock/register'` only has an effect (it wraps globalThis.fetch); it exports nothing.
export {};
