// A logged-in vSphere API session: service content, Login/Logout, the session cookie kept by the
// transport. Every managed-object module takes a VimClient.
import { SoapTransport, type TransportOptions } from './soap.ts';
import { child, childText, toRef, type XmlElement } from './xml.ts';
import { NotAuthenticatedFault } from './faults.ts';
import { moref, type ManagedObjectReference, type ServiceContent, type UserSession } from './types.ts';

export interface ConnectOptions extends TransportOptions {
  username: string;
  password: string;
}

function optRef(el: XmlElement | undefined, name: string): ManagedObjectReference | undefined {
  const c = child(el, name);
  return c ? toRef(c) : undefined;
}

function serviceContent(el: XmlElement | undefined): ServiceContent {
  const need = (name: string): ManagedObjectReference => {
    const r = optRef(el, name);
    if (!r) throw new Error(`vim25: service content has no ${name}`);
    return r;
  };
  const about = child(el, 'about');
  return {
    rootFolder: need('rootFolder'),
    propertyCollector: need('propertyCollector'),
    viewManager: optRef(el, 'viewManager'),
    sessionManager: need('sessionManager'),
    searchIndex: need('searchIndex'),
    fileManager: optRef(el, 'fileManager'),
    virtualDiskManager: optRef(el, 'virtualDiskManager'),
    eventManager: optRef(el, 'eventManager'),
    taskManager: optRef(el, 'taskManager'),
    about: {
      name: childText(about, 'name') ?? '',
      fullName: childText(about, 'fullName') ?? '',
      version: childText(about, 'version') ?? '',
      apiVersion: childText(about, 'apiVersion') ?? '',
      apiType: childText(about, 'apiType') ?? '',
      instanceUuid: childText(about, 'instanceUuid'),
    },
  };
}

export class VimClient {
  readonly transport: SoapTransport;
  readonly content: ServiceContent;
  session: UserSession | undefined;
  /** Kept to log in again when the server ends the session (idle timeout, restart, TerminateSession). */
  private credentials: { username: string; password: string } | undefined;
  private relogin: Promise<unknown> | undefined;

  private constructor(transport: SoapTransport, content: ServiceContent) {
    this.transport = transport;
    this.content = content;
  }

  /** Connects (thumbprint-pinned) and reads the service content, without logging in. */
  static async open(options: TransportOptions): Promise<VimClient> {
    const transport = new SoapTransport(options);
    try {
      const ret = await transport.invoke('RetrieveServiceContent', moref('ServiceInstance', 'ServiceInstance'));
      const content = serviceContent(ret);
      if (content.about.apiVersion) transport.soapAction = `urn:vim25/${content.about.apiVersion}`;
      return new VimClient(transport, content);
    } catch (err) {
      transport.close();
      throw err;
    }
  }

  /** Connects and logs in; the session cookie rides on every later call. */
  static async connect(options: ConnectOptions): Promise<VimClient> {
    const client = await VimClient.open(options);
    try {
      await client.login(options.username, options.password);
      return client;
    } catch (err) {
      client.transport.close();
      throw err;
    }
  }

  async login(username: string, password: string): Promise<UserSession> {
    const ret = await this.transport.invoke('Login', this.content.sessionManager, { userName: username, password });
    this.session = { key: childText(ret, 'key') ?? '', userName: childText(ret, 'userName') ?? username };
    this.credentials = { username, password };
    return this.session;
  }

  /** Ends the session on the server and closes the connections. */
  async logout(): Promise<void> {
    try {
      if (this.session) await this.transport.invoke('Logout', this.content.sessionManager);
    } finally {
      this.session = undefined;
      this.credentials = undefined;
      this.transport.cookie = undefined;
      this.transport.close();
    }
  }

  /** Invokes a method; a lost session is re-established once (concurrent callers share the login). */
  async invoke(method: string, self: ManagedObjectReference, args: Record<string, unknown> = {}, timeoutMs?: number): Promise<XmlElement | undefined> {
    try {
      return await this.transport.invoke(method, self, args, timeoutMs);
    } catch (err) {
      if (!(err instanceof NotAuthenticatedFault) || !this.credentials) throw err;
      const { username, password } = this.credentials;
      this.relogin ??= this.login(username, password).finally(() => {
        this.relogin = undefined;
      });
      await this.relogin;
      return this.transport.invoke(method, self, args, timeoutMs);
    }
  }

  /** Invokes a method that returns a managed object reference. */
  async invokeRef(method: string, self: ManagedObjectReference, args: Record<string, unknown> = {}): Promise<ManagedObjectReference> {
    const ret = await this.invoke(method, self, args);
    if (!ret) throw new Error(`vim25: ${method} returned nothing`);
    return toRef(ret);
  }

  manager(name: keyof ServiceContent): ManagedObjectReference {
    const r = this.content[name];
    if (!r || !(r as ManagedObjectReference).type) throw new Error(`vim25: this server has no ${name}`);
    return r as ManagedObjectReference;
  }
}
