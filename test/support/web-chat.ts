/** Steps of the web client's chat screens, as a user takes them in Chromium (test/web-*.test.ts). */
import type { Page } from 'playwright-core';

/** Signs in on the sign-in screen and waits for the chat screen. */
export async function signIn(page: Page, password: string, passphrase: string, timeoutMs = 60_000): Promise<void> {
  const form = page.getByTestId('signin-form');
  await form.waitFor();
  await form.getByLabel('Password').fill(password);
  await form.getByLabel('Key passphrase').fill(passphrase);
  await form.getByRole('button', { name: 'Sign in' }).click();
  await page.getByTestId('me').waitFor({ timeout: timeoutMs });
}

export async function addBuddy(page: Page, name: string): Promise<void> {
  await page.getByLabel('Screen name to add').fill(name);
  await page.getByRole('button', { name: 'Add', exact: true }).click();
  await page.locator(`[data-buddy="${name}"]`).waitFor();
}

export async function openConversation(page: Page, name: string): Promise<void> {
  await page.locator(`[data-buddy="${name}"]`).click();
  await page.getByTestId('conversation-with').filter({ hasText: name }).waitFor();
}

export async function send(page: Page, to: string, text: string): Promise<void> {
  await page.getByLabel(`Message to ${to}`).fill(text);
  await page.getByLabel(`Message to ${to}`).press('Enter');
  await page.locator('.line.out', { hasText: text }).waitFor({ timeout: 60_000 });
}

/** Waits for an incoming line containing `text` (or, for failed lines, any failed line) and returns its verdict. */
export async function incoming(page: Page, text: string): Promise<string | null> {
  const line = page.locator('.line.in', { hasText: text });
  await line.waitFor({ timeout: 60_000 });
  return line.getAttribute('data-verdict');
}
