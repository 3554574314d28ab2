/** A database URL fit for logs and error messages: any password replaced by `***`. */
export function redactDatabaseUrl(url: string): string {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url; // sqlite:PATH carries no credentials
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString().replace(':%2A%2A%2A@', ':***@');
  } catch (_) {
    return `${url.slice(0, url.indexOf('://'))}://(unparseable URL)`;
  }
}
