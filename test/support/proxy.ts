// A stand-in for a binding (D1, a D1 session, KV) in tests: the properties given answer their own
// way; every other one is the real object's, its methods bound to it, so the stand-in still works
// as the binding does.
export function overriding<T extends object>(target: T, overrides: Partial<Record<keyof T, unknown>>): T {
  return new Proxy(target, {
    get(real, prop) {
      if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof T];
      const value = Reflect.get(real, prop, real);
      return typeof value === 'function' ? value.bind(real) : value;
    },
  });
}
