import type { Admin, Kafka } from 'kafkajs';

/** One admin client, connected on first use and shared; a failed connect is not kept, the next use tries again. */
export class LazyAdmin {
  #admin: Promise<Admin> | undefined;

  constructor(private readonly kafka: Kafka) {}

  get(): Promise<Admin> {
    if (!this.#admin) {
      const connecting = (async () => {
        const admin = this.kafka.admin();
        await admin.connect();
        return admin;
      })();
      this.#admin = connecting;
      connecting.catch(() => {
        if (this.#admin === connecting) this.#admin = undefined;
      });
    }
    return this.#admin;
  }

  async close(): Promise<void> {
    const admin = this.#admin;
    this.#admin = undefined;
    await admin?.then((a) => a.disconnect()).catch(() => undefined);
  }
}
