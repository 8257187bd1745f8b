/** noble's factory that builds a Noble instance on the given bindings (no native code loaded). */
declare module '@abandonware/noble/with-bindings' {
  const withBindings: (bindings: unknown) => unknown;
  export default withBindings;
}
