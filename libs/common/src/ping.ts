import { Injectable } from '@nestjs/common';
import { base64url } from 'jose';

@Injectable()
export class PingService {
  ping(): string {
    return base64url.encode('pong');
  }
}

export function ping(): string {
  return new PingService().ping();
}
