// The vim25 XML layer alone: xsi:type resolved by namespace URI whatever the prefix, plain `type`
// attributes on references kept apart from it, escaping round trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeDocument, encodeRequest, toValue, child, xsdString } from '../../src/vim25/xml.ts';
import { faultFromSoap, InvalidPowerStateFault } from '../../src/vim25/faults.ts';
import { ManagedObjectReference, moref } from '../../src/vim25/types.ts';

test('xsi:type by namespace: vcsim prefix, xsi prefix, and a foreign prefix named like xsi', () => {
  const doc = decodeDocument(`<r xmlns:xsd="http://www.w3.org/2001/XMLSchema">
    <a xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" XMLSchema-instance:type="ArrayOfOptionValue">
      <OptionValue XMLSchema-instance:type="OptionValue"><key>k</key><value XMLSchema-instance:type="xsd:int">42</value></OptionValue>
    </a>
    <b xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="ManagedObjectReference" type="VirtualMachine">vm-1</b>
    <c xmlns:xsi="urn:not-xsi" xsi:type="Nope">text</c>
  </r>`);
  const a = child(doc, 'a')!;
  assert.equal(a.xsiType, 'ArrayOfOptionValue');
  assert.deepEqual(toValue(a), [{ $type: 'OptionValue', key: 'k', value: 42 }]);
  const b = toValue(child(doc, 'b')!);
  assert.ok(b instanceof ManagedObjectReference);
  assert.equal(b.type, 'VirtualMachine');
  assert.equal(b.value, 'vm-1');
  const c = child(doc, 'c')!;
  assert.equal(c.xsiType, undefined, 'a prefix bound to another namespace is not xsi');
  assert.equal(toValue(c), 'text');
});

test('requests escape text and carry xsi:type; a fault detail becomes its typed error', () => {
  const xml = encodeRequest('ReconfigVM_Task', moref('VirtualMachine', 'vm-1'), {
    spec: { extraConfig: [{ key: 'guestinfo.x', value: xsdString('a<b&"c"') }], deviceChange: [{ operation: 'add', device: { $type: 'VirtualDisk', key: -1 } }] },
  });
  const body = child(decodeDocument(xml), 'Body')!.children[0];
  assert.equal(body.name, 'ReconfigVM_Task');
  assert.deepEqual(toValue(child(body, '_this')!), moref('VirtualMachine', 'vm-1'));
  const spec = toValue(child(body, 'spec')!) as Record<string, any>;
  assert.equal(spec.extraConfig.value, 'a<b&"c"');
  assert.equal(spec.deviceChange.device.$type, 'VirtualDisk');

  const fault = child(child(decodeDocument(`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>The attempted operation cannot be performed in the current state (Powered on).</faultstring><detail><InvalidPowerStateFault xmlns="urn:vim25" xsi:type="InvalidPowerState"><requestedState>poweredOn</requestedState><existingState>poweredOn</existingState></InvalidPowerStateFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`), 'Body'), 'Fault')!;
  const err = faultFromSoap(fault);
  assert.ok(err instanceof InvalidPowerStateFault);
  assert.equal(err.detail.existingState, 'poweredOn');
  assert.match(err.message, /current state/);
});
