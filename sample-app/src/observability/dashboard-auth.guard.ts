import { timingSafeEqual } from 'node:crypto';
import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';

/**
 * The dashboard's guard in this sample: HTTP Basic authentication as user
 * "admin" with DASHBOARD_PASSWORD. The browser asks for it once and sends it
 * with the page's own requests (its live updates and its actions). Without
 * DASHBOARD_PASSWORD the sample gives the dashboard no guard: the page is
 * readable and every action is refused.
 */
@Injectable()
export class DashboardAuthGuard implements CanActivate {
  private readonly expected = Buffer.from(`admin:${process.env.DASHBOARD_PASSWORD ?? ''}`);

  canActivate(context: ExecutionContext): boolean {
    const http = context.switchToHttp();
    const header = http.getRequest<{ headers: Record<string, string | undefined> }>().headers.authorization ?? '';
    const given = Buffer.from(header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString() : '');
    if (given.length === this.expected.length && timingSafeEqual(given, this.expected)) return true;
    http
      .getResponse<{ setHeader(name: string, value: string): void }>()
      .setHeader('WWW-Authenticate', 'Basic realm="workers", charset="UTF-8"');
    throw new UnauthorizedException('The workers dashboard needs the user "admin" and DASHBOARD_PASSWORD.');
  }
}
