import { Test, TestingModule } from '@nestjs/testing';
import { INestApplication } from '@nestjs/common';
import { WorkerManager } from 'nestjs-worker';
import { AppModule } from './../src/app.module';

describe('hash task (e2e)', () => {
  let app: INestApplication;

  beforeAll(async () => {
    const moduleFixture: TestingModule = await Test.createTestingModule({
      imports: [AppModule],
    }).compile();

    app = moduleFixture.createNestApplication();
    await app.init();
  });

  afterAll(async () => {
    await app.close();
  });

  it('runs in a worker thread', async () => {
    const result = await app.get(WorkerManager).run<{ hex: string; threadId: number }>('hash', 'hello');
    expect(result.hex).toBe('2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    expect(result.threadId).toBeGreaterThan(0);
  });
});
